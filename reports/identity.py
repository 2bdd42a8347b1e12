"""The identity graph as the merge log (``identity_edges``, migration 0010) records it: show and why.

Two kinds of edge, as stage 1 writes them (``streams.stage_enrich._identities``):
- ``device``: anonymous id -> person (rows with ``anonymous_id != ''``);
- ``account``: person -> account (rows with ``anonymous_id = ''``).
Each row is one event's assertion of a link (event id, source, event time). The *current* edge of a
child (a device, a person) is its latest by (event time, parent) — the rule of ``device_people`` /
``person_accounts`` / ``account_journeys``, ties broken like the stream (the larger key).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from reports.queries import Reader

__all__ = ["Edge", "Explanation", "Graph", "explain_touch", "graph_around"]

_EDGE_COLUMNS = "anonymous_id, person_id, account_id, updated_at, event_id, source"


@dataclass(frozen=True, slots=True)
class Edge:
    kind: str  # "device" (anonymous id -> person) or "account" (person -> account)
    child: str
    parent: str
    source: str
    event_id: str
    at: datetime
    current: bool = False

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = _iso(self.at)
        return out


@dataclass(frozen=True, slots=True)
class Graph:
    query: str
    devices: list[dict[str, str]]  # anonymous_id, person_id (current)
    people: list[dict[str, str]]  # person_id, email, account_id (current)
    accounts: list[dict[str, Any]]  # account_id, people (currently linked, among the graph's people)
    edges: list[Edge]

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "devices": self.devices,
            "people": self.people,
            "accounts": self.accounts,
            "edges": [e.as_dict() for e in self.edges],
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
    anon, person, account, at, event_id, source = row
    if anon:
        return Edge("device", anon, person, source, event_id, at)
    return Edge("account", person, account, source, event_id, at)


def _order(edge: Edge) -> tuple[object, ...]:
    return (edge.at, edge.parent, edge.event_id)


def _mark_current(edges: list[Edge], winners: dict[tuple[str, str], tuple[object, ...]]) -> list[Edge]:
    """``winners``: (kind, child) -> the order key of the child's latest edge."""
    return [
        Edge(
            e.kind, e.child, e.parent, e.source, e.event_id, e.at, winners.get((e.kind, e.child)) == _order(e)
        )
        for e in edges
    ]


def _latest(edges: list[Edge]) -> dict[tuple[str, str], tuple[object, ...]]:
    out: dict[tuple[str, str], tuple[object, ...]] = {}
    for e in edges:
        key = (e.kind, e.child)
        if key not in out or _order(e) > out[key]:
            out[key] = _order(e)
    return out


def graph_around(reader: Reader, query: str) -> Graph | None:
    """Devices, people and accounts around an e-mail, person id, anonymous id or account domain.

    The people are those the query names (a person id or e-mail, the people a device was ever linked
    to, the people ever linked to an account); the graph is every edge of their devices (a device also
    linked to someone else shows that person too) and every account edge of all those people.
    None: nothing matches.
    """
    needle = query.strip()
    people = [
        p
        for (p,) in reader.rows(
            "SELECT DISTINCT person_id FROM {db}.identity_edges "
            "WHERE person_id = %(q)s OR anonymous_id = %(q)s OR lower(email) = lower(%(q)s) "
            "OR (anonymous_id = '' AND account_id = lower(%(q)s)) ORDER BY person_id",
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
        "SELECT DISTINCT person_id FROM {db}.identity_edges WHERE has(%(d)s, anonymous_id)", {"d": devices}
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
    edges = _mark_current(raw, _latest(raw))
    current = {(e.kind, e.child): e.parent for e in edges if e.current}
    persons = sorted(
        {e.parent for e in edges if e.kind == "device"} | {e.child for e in edges if e.kind == "account"}
    )
    accounts = sorted({e.parent for e in edges if e.kind == "account"})
    return Graph(
        query=needle,
        devices=[
            {"anonymous_id": d, "person_id": current[("device", d)]}
            for d in sorted({e.child for e in edges if e.kind == "device"})
        ],
        people=[
            {"person_id": p, "email": emails.get(p, ""), "account_id": current.get(("account", p), "")}
            for p in persons
        ],
        accounts=[
            {"account_id": a, "people": sum(1 for p in persons if current.get(("account", p)) == a)}
            for a in accounts
        ],
        edges=edges,
    )


def explain_touch(reader: Reader, event_id: str) -> Explanation | None:
    """Which edges put the touchpoint ``event_id`` on its account, as ``account_journeys`` resolves it:
    the touch's own person (else its device's current person), then that person's current account
    (else the account the touchpoint row carries). None: no such touchpoint."""
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
    if anon:
        device = _mark_current(
            raw := [
                _edge(r)
                for r in reader.rows(
                    f"SELECT {_EDGE_COLUMNS} FROM {{db}}.identity_edges FINAL WHERE anonymous_id = %(a)s",
                    {"a": anon},
                )
            ],
            _latest(raw),
        )
        latest = next((e for e in device if e.current), None)
        if own_person:
            # The touch names its person (stage 1 knew the device); the log's edge that joined them.
            joined = [e for e in device if e.parent == own_person]
            if joined:
                edges.append(max(joined, key=_order))
            steps.append(f"the touch names person {own_person}")
        elif latest is not None:
            person = latest.parent
            edges.append(latest)
            steps.append(f"device {anon} is linked to person {person}")
    elif own_person:
        steps.append(f"the touch names person {own_person}")
    account = ""
    if person:
        links = [
            _edge(r)
            for r in reader.rows(
                f"SELECT {_EDGE_COLUMNS} FROM {{db}}.identity_edges FINAL "
                "WHERE person_id = %(p)s AND anonymous_id = '' AND account_id != ''",
                {"p": person},
            )
        ]
        marked = _mark_current(links, _latest(links))
        latest_account = next((e for e in marked if e.current), None)
        if latest_account is not None:
            account = latest_account.parent
            edges.append(latest_account)
            steps.append(f"person {person} is linked to account {account}")
    if not account and own_account:
        account = own_account
        steps.append(f"the touchpoint row carries account {account} (no logged person -> account edge)")
    if not account:
        steps.append("no edge links it to an account: unresolved")
    return Explanation(event_id, ts, anon, person, account, edges, "; ".join(steps))
