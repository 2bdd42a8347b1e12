"""The identity graph as the merge log (``identity_edges``, migration 0010) records it: show and why.

Two kinds of edge, as stage 1 writes them (``streams.stage_enrich._identities``):
- ``device``: anonymous id -> person (rows with ``anonymous_id != ''``);
- ``account``: person -> account (rows with ``anonymous_id = ''``).
Each row is one event's assertion of a link (event id, source, event time). The *current* edge of a
child (a device, a person) is its latest applied, non-revoked one by (event time, parent) — the rule of
``device_people`` / ``person_accounts`` / ``account_journeys``, ties broken like the stream (the larger
key). Since migration 0013 the log also holds links a guard held back (``held``: role_address,
free_mail_domain, shared_device), never current; ``identity_revocations`` marks edges revoked by
``touchstream identity split / unlink`` (the latest row per edge decides); a shared device
(``shared_devices``) has no current edge at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from reports.queries import Reader

__all__ = ["Edge", "Explanation", "Graph", "explain_touch", "graph_around"]

_EDGE_COLUMNS = "anonymous_id, person_id, account_id, updated_at, event_id, source, held"
_REVOCATIONS = (
    "SELECT kind, child, parent, revoked, at, reason FROM {db}.identity_revocations FINAL "
    "WHERE (kind = 'device' AND has(%(d)s, child)) OR (kind = 'account' AND has(%(p)s, child))"
)


@dataclass(frozen=True, slots=True)
class Edge:
    kind: str  # "device" (anonymous id -> person) or "account" (person -> account)
    child: str
    parent: str
    source: str
    event_id: str
    at: datetime
    current: bool = False
    held: str = ""  # why a guard held the link back ('' = applied)
    revoked: bool = False  # split / unlink: the latest identity_revocations row of the edge revokes it
    revoked_reason: str = ""
    revoked_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = _iso(self.at)
        out["revoked_at"] = _iso(self.revoked_at) if self.revoked_at is not None else None
        return out

    @property
    def applies(self) -> bool:
        """Whether the edge can be a current link: applied (not held) and not revoked."""
        return not self.held and not self.revoked


@dataclass(frozen=True, slots=True)
class Graph:
    query: str
    devices: list[dict[str, str]]  # anonymous_id, person_id (current)
    people: list[dict[str, str]]  # person_id, email, account_id (current)
    accounts: list[dict[str, Any]]  # account_id, people (currently linked, among the graph's people)
    edges: list[Edge]
    flags: list[dict[str, Any]] = field(default_factory=list)  # identity_flags rows of the graph's ids

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "devices": self.devices,
            "people": self.people,
            "accounts": self.accounts,
            "edges": [e.as_dict() for e in self.edges],
            "flags": self.flags,
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    event_id: str
    ts: datetime
    anonymous_id: str
    person_id: str
    account_id: str
    edges: list[Edge]
    reason: str

    @property
    def resolved(self) -> bool:
        return bool(self.account_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "ts": _iso(self.ts),
            "anonymous_id": self.anonymous_id,
            "person_id": self.person_id,
            "account_id": self.account_id,
            "resolved": self.resolved,
            "edges": [e.as_dict() for e in self.edges],
            "reason": self.reason,
        }


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _edge(row: tuple[Any, ...]) -> Edge:
    anon, person, account, at, event_id, source, held = row
    if anon:
        return Edge("device", anon, person, source, event_id, at, held=held)
    return Edge("account", person, account, source, event_id, at, held=held)


Revocations = dict[tuple[str, str, str], tuple[bool, datetime, str]]  # (kind, child, parent) -> state


def _revocations(reader: Reader, devices: list[str], people: list[str]) -> Revocations:
    """The latest revocation row of every edge of these devices / people."""
    rows = reader.rows(_REVOCATIONS, {"d": devices, "p": people})
    return {(k, c, p): (bool(r), at, reason) for k, c, p, r, at, reason in rows}


def _with_revocations(edges: list[Edge], revocations: Revocations) -> list[Edge]:
    out = []
    for e in edges:
        state = revocations.get((e.kind, e.child, e.parent))
        if state is not None and state[0]:
            e = replace(e, revoked=True, revoked_at=state[1], revoked_reason=state[2])
        out.append(e)
    return out


def _flags(reader: Reader, ids: list[str]) -> list[dict[str, Any]]:
    """identity_flags rows naming these ids (shared devices, people with many accounts)."""
    rows = reader.rows(
        "SELECT kind, id, count, first_at, last_at FROM {db}.identity_flags WHERE has(%(i)s, id) "
        "ORDER BY kind, id",
        {"i": ids},
    )
    return [
        {"kind": k, "id": i, "count": int(n), "first_at": _iso(first), "last_at": _iso(last)}
        for k, i, n, first, last in rows
    ]


def _shared(reader: Reader, devices: list[str]) -> set[str]:
    rows = reader.rows(
        "SELECT anonymous_id FROM {db}.shared_devices WHERE has(%(d)s, anonymous_id)", {"d": devices}
    )
    return {d for (d,) in rows}


def _order(edge: Edge) -> tuple[object, ...]:
    return (edge.at, edge.parent, edge.event_id)


def _mark_current(edges: list[Edge], winners: dict[tuple[str, str], tuple[object, ...]]) -> list[Edge]:
    """``winners``: (kind, child) -> the order key of the child's latest edge."""
    return [replace(e, current=e.applies and winners.get((e.kind, e.child)) == _order(e)) for e in edges]


def _latest(edges: list[Edge], shared: set[str] | None = None) -> dict[tuple[str, str], tuple[object, ...]]:
    """The latest applied, non-revoked edge of each child; none for a shared device."""
    out: dict[tuple[str, str], tuple[object, ...]] = {}
    for e in edges:
        if not e.applies or (e.kind == "device" and shared and e.child in shared):
            continue
        key = (e.kind, e.child)
        if key not in out or _order(e) > out[key]:
            out[key] = _order(e)
    return out


def graph_around(reader: Reader, query: str) -> Graph | None:
    """Devices, people and accounts around an e-mail, person id, anonymous id or account domain.

    The people are those the query names (a person id or e-mail, the people a device was ever linked
    to, the people ever linked to an account); the graph is every edge of their devices (a device also
    linked to someone else shows that person too) and every account edge of all those people, held
    links included (a role address held back on a device is an edge, not a person). Revoked edges are
    marked, the flags of the graph's devices and people listed. None: nothing matches.
    """
    needle = query.strip()
    people = [
        p
        for (p,) in reader.rows(
            "SELECT DISTINCT person_id FROM {db}.identity_edges "
            "WHERE held != 'role_address' AND (person_id = %(q)s OR anonymous_id = %(q)s "
            "OR lower(email) = lower(%(q)s) OR (anonymous_id = '' AND account_id = lower(%(q)s))) "
            "ORDER BY person_id",
            {"q": needle},
        )
        if p
    ]
    if not people:
        return None
    devices = [
        d
        for (d,) in reader.rows(
            "SELECT DISTINCT anonymous_id FROM {db}.identity_edges "
            "WHERE has(%(p)s, person_id) AND anonymous_id != '' ORDER BY anonymous_id",
            {"p": people},
        )
    ]
    # The people those devices were also linked to, with their account edges (one hop, no further).
    others = reader.rows(
        "SELECT DISTINCT person_id FROM {db}.identity_edges "
        "WHERE has(%(d)s, anonymous_id) AND held != 'role_address'",
        {"d": devices},
    )
    everyone = sorted(set(people) | {p for (p,) in others} - {""})
    rows = reader.rows(
        f"SELECT {_EDGE_COLUMNS} FROM {{db}}.identity_edges FINAL "
        "WHERE has(%(d)s, anonymous_id) "
        "OR (anonymous_id = '' AND has(%(p)s, person_id) AND account_id != '')",
        {"d": devices, "p": everyone},
    )
    emails = dict(
        reader.rows(
            "SELECT person_id, argMax(email, (updated_at, email)) FROM {db}.identity_edges "
            "WHERE has(%(p)s, person_id) AND email != '' GROUP BY person_id",
            {"p": everyone},
        )
    )
    raw = sorted(map(_edge, rows), key=lambda e: (e.kind != "device", e.child, e.at, e.parent, e.event_id))
    raw = _with_revocations(raw, _revocations(reader, devices, everyone))
    shared = _shared(reader, devices)
    edges = _mark_current(raw, _latest(raw, shared))
    current = {(e.kind, e.child): e.parent for e in edges if e.current}
    persons = sorted(
        {e.parent for e in edges if e.kind == "device" and e.held != "role_address"}
        | {e.child for e in edges if e.kind == "account"}
    )
    accounts = sorted({e.parent for e in edges if e.kind == "account" and not e.held})
    device_ids = sorted({e.child for e in edges if e.kind == "device"})
    return Graph(
        query=needle,
        devices=[{"anonymous_id": d, "person_id": current.get(("device", d), "")} for d in device_ids],
        people=[
            {"person_id": p, "email": emails.get(p, ""), "account_id": current.get(("account", p), "")}
            for p in persons
        ],
        accounts=[
            {"account_id": a, "people": sum(1 for p in persons if current.get(("account", p)) == a)}
            for a in accounts
        ],
        edges=edges,
        flags=_flags(reader, [*device_ids, *persons]),
    )


def explain_touch(reader: Reader, event_id: str) -> Explanation | None:
    """Which edges put the touchpoint ``event_id`` on its account, as ``account_journeys`` resolves it:
    the touch's own person unless its device is shared or that device edge revoked (else the device's
    current person: none on a shared device), then that person's current account (else the account the
    touchpoint row carries, unless that account edge is revoked or the row's person stamp no longer
    holds). None: no such touchpoint."""
    found = reader.rows(
        "SELECT event_id, ts, anonymous_id, person_id, account_id FROM {db}.touchpoints FINAL "
        "WHERE event_id = %(e)s LIMIT 1",
        {"e": event_id},
    )
    if not found:
        return None
    _, ts, anon, own_person, own_account = found[0]
    edges: list[Edge] = []
    steps: list[str] = []
    person = own_person
    void = False  # the row's stamps no longer hold: a shared device, or its device edge revoked
    if anon:
        shared = _shared(reader, [anon])
        raw = _with_revocations(
            [
                _edge(r)
                for r in reader.rows(
                    f"SELECT {_EDGE_COLUMNS} FROM {{db}}.identity_edges FINAL WHERE anonymous_id = %(a)s",
                    {"a": anon},
                )
            ],
            _revocations(reader, [anon], []),
        )
        device = _mark_current(raw, _latest(raw, shared))
        latest = next((e for e in device if e.current), None)
        own_revoked = [e for e in device if e.parent == own_person and e.revoked]
        void = anon in shared or bool(own_person and own_revoked)
        if anon in shared:
            person = ""
            steps.append(f"device {anon} is shared (a shared-device guard): linked to nobody")
        elif own_person and not own_revoked:
            # The touch names its person (stage 1 knew the device); the log's edge that joined them.
            joined = [e for e in device if e.parent == own_person]
            if joined:
                edges.append(max(joined, key=_order))
            steps.append(f"the touch names person {own_person}")
        else:
            if own_person:
                edges.append(max(own_revoked, key=_order))
                steps.append(f"the edge device {anon} -> person {own_person} is revoked")
            person = latest.parent if latest is not None else ""
            if latest is not None:
                edges.append(latest)
                steps.append(f"device {anon} is linked to person {person}")
    elif own_person:
        steps.append(f"the touch names person {own_person}")
    account = ""
    account_revoked = False
    if person:
        links = _with_revocations(
            [
                _edge(r)
                for r in reader.rows(
                    f"SELECT {_EDGE_COLUMNS} FROM {{db}}.identity_edges FINAL "
                    "WHERE person_id = %(p)s AND anonymous_id = '' AND account_id != ''",
                    {"p": person},
                )
            ],
            _revocations(reader, [], [person]),
        )
        marked = _mark_current(links, _latest(links))
        latest_account = next((e for e in marked if e.current), None)
        if latest_account is not None:
            account = latest_account.parent
            edges.append(latest_account)
            steps.append(f"person {person} is linked to account {account}")
        account_revoked = any(e.parent == own_account and e.revoked for e in marked)
    if not account and own_account:
        if void:
            steps.append(f"the account {own_account} the touchpoint row carries went with its person")
        elif account_revoked:
            steps.append(
                f"the edge person {person} -> account {own_account} the touchpoint row carries is revoked"
            )
        else:
            account = own_account
            steps.append(f"the touchpoint row carries account {account} (no logged person -> account edge)")
    if not account:
        steps.append("no edge links it to an account: unresolved")
    return Explanation(event_id, ts, anon, person, account, edges, "; ".join(steps))
