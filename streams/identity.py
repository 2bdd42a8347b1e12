"""Identity stitching rules: visitor (anonymous_id) -> person -> account, later event time wins.

Pure functions over a small per-visitor state; the faust wiring (``streams.stage_enrich``) stores
that state in a changelogged table. Entity keys name where a journey lives in ``by-account``:
``a:<domain>`` for accounts, ``p:<person>`` for people and ``v:<anonymous_id>`` for visitors nobody
has identified; the journey stage forwards a visitor's buffered touches to its parent when a link
arrives (retroactive merge). An identified device links to its person (``v:`` -> ``p:``), never
straight to an account: the person's one link (``p:`` -> ``a:``, the latest by event time) decides
which account all of the person's touches feed, so a person moving accounts takes every device along.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = [
    "DeviceState",
    "Link",
    "StitchResult",
    "account_key",
    "company_domain",
    "person_key",
    "stitch",
    "visitor_key",
]


def account_key(domain: str) -> str:
    return f"a:{domain}"


def person_key(person: str) -> str:
    return f"p:{person}"


def visitor_key(anonymous_id: str) -> str:
    return f"v:{anonymous_id}"


def company_domain(email: str | None, free_domains: frozenset[str]) -> str | None:
    """The company domain of an address, or None for free-mail providers and malformed input."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower().removeprefix("www.")
    if not domain or "." not in domain:
        return None
    parts = domain.split(".")
    # Subdomains of a free provider (e.g. mail.yahoo.com) are free too.
    if any(".".join(parts[i:]) in free_domains for i in range(len(parts) - 1)):
        return None
    return domain


@dataclass(frozen=True, slots=True)
class DeviceState:
    """What one visitor is known to be: person, account and the event time that said so.

    ``people``: every person the device was identified as, with the first event time (the shared-device
    guard, :mod:`schemas.guards`); ``revoked``: people `touchstream identity split` took off it.
    """

    person: str = ""
    account: str = ""
    email: str = ""
    ts: float = 0.0
    people: dict[str, float] = field(default_factory=dict, compare=True)
    revoked: frozenset[str] = frozenset()

    def firsts(self) -> list[float]:
        """First identification times of the people not revoked: what makes a device shared."""
        return [ts for person, ts in self.people.items() if person not in self.revoked]

    def to_json(self) -> list[object]:
        if not self.people and not self.revoked:
            return [self.person, self.account, self.email, self.ts]
        return [self.person, self.account, self.email, self.ts, self.people, sorted(self.revoked)]

    @classmethod
    def from_json(cls, raw: list[object]) -> DeviceState:
        person, account, email, ts = raw[:4]
        people: dict[str, float] = raw[4] if len(raw) > 4 else {}  # type: ignore[assignment]
        revoked: list[str] = raw[5] if len(raw) > 5 else []  # type: ignore[assignment]
        return cls(
            str(person),
            str(account),
            str(email),
            float(ts),  # type: ignore[arg-type]
            {str(k): float(v) for k, v in people.items()},
            frozenset(map(str, revoked)),
        )


@dataclass(frozen=True, slots=True)
class Link:
    """``child`` entity's journey belongs to ``parent`` from event time ``ts`` on."""

    child: str
    parent: str
    ts: float


@dataclass(frozen=True, slots=True)
class StitchResult:
    state: DeviceState  # the visitor's state after this event
    changed: bool  # whether the state must be written back
    route: str  # entity key the event's touch / conversion goes to
    person: str  # person of this event (event's own or stitched), '' if unknown
    account: str  # account of this event (event's own or stitched), '' if unknown
    links: tuple[Link, ...]  # links to announce (new information only)
    named: str = ""  # the account the event itself names ('' if none): where its conversion belongs


def stitch(
    state: DeviceState | None,
    *,
    anonymous_id: str | None,
    person_id: str | None,
    email: str | None,
    account_domain: str | None,
    ts: float,
    free_domains: frozenset[str],
) -> StitchResult:
    """Apply one event's identifiers to its visitor's state.

    The person is ``person_id`` or else the e-mail; the account is ``account_domain`` or else the
    e-mail's company domain. Information from an event older than the state's (an out-of-order
    identify) is still announced as links — the journey stage and ClickHouse resolve by event time —
    but does not overwrite the newer state.
    """
    current = state or DeviceState()
    person = person_id or email or ""
    account = account_domain or company_domain(email, free_domains) or ""
    links: list[Link] = []
    new_state = current
    if person or account:
        newer = ts >= current.ts
        differs = (person and person != current.person) or (account and account != current.account)
        # An event naming an account but no person speaks for the device's person, if it has one.
        who = person or current.person
        if differs and anonymous_id:
            if person and person != current.person:
                # Through the person, not straight to the account: the person's one (latest) link
                # decides, so when the person moves accounts this device's touches move too.
                links.append(Link(visitor_key(anonymous_id), person_key(person), ts))
            elif not who:
                links.append(Link(visitor_key(anonymous_id), account_key(account), ts))
        if who and account and differs:
            links.append(Link(person_key(who), account_key(account), ts))
        if differs and newer:
            same_person = not person or person == current.person
            new_state = replace(
                current,
                person=person or current.person,
                # A new person on this device does not inherit the previous person's account.
                account=account or (current.account if same_person else ""),
                email=email or (current.email if same_person else ""),
                ts=ts,
            )
        elif newer and ts > current.ts:
            # Same facts, newer time: remember it, or an older conflicting identify could win later.
            new_state = replace(current, ts=ts)
    resolved_person = person or current.person
    resolved_account = account or (new_state.account if resolved_person == new_state.person else "")
    if links:
        route = links[0].child  # behind the link, so the hand-over reaches the parent first
    elif resolved_person:
        route = person_key(resolved_person)  # the person entity forwards to its current account
    elif resolved_account:
        route = account_key(resolved_account)
    elif anonymous_id:
        route = visitor_key(anonymous_id)
    else:
        route = ""
    return StitchResult(
        state=new_state,
        changed=new_state != current,
        route=route,
        person=resolved_person,
        account=resolved_account,
        links=tuple(links),
        named=account,
    )
