"""Erasure of one person from ClickHouse: every row that names them, and their identity links.

A person is found by any of email, person_id or anonymous_id; the identity table widens that to all
their ids (every device they used, every person id an email mapped to). Rows go with lightweight
``DELETE`` (synchronous, immediately invisible to queries; parts are rewritten by later merges).
Credits are deleted through the touchpoints they credit, so they go first; the first touches derived
from touchpoints (``touch_devices``) go with them.
Stream state (journeys held by the workers) is erased separately by the streams stage
(``streams.erasure``), from the event ids and accounts ``erase`` reads before deleting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clickhouse_driver import Client

from schemas import tables
from sinks.errors import SinkError

__all__ = ["Erasure", "Subject", "erase", "resolve"]


@dataclass(frozen=True, slots=True)
class Subject:
    """Who to forget; at least one field set."""

    email: str = ""
    person_id: str = ""
    anonymous_id: str = ""


@dataclass(slots=True)
class Erasure:
    person_ids: list[str]
    anonymous_ids: list[str]
    emails: list[str]
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows removed
    # For the stream workers' erasure: the person's touchpoint event ids and every account they touched.
    event_ids: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def resolve(client: Client, database: str, subject: Subject) -> Erasure:
    """Every person id, anonymous id and email linked to ``subject`` through the merge log."""
    if not (subject.email or subject.person_id or subject.anonymous_id):
        raise SinkError("forget needs an email, person_id or anonymous_id")
    people = {subject.person_id} - {""}
    devices = {subject.anonymous_id} - {""}
    emails = {subject.email.strip().lower()} - {""}
    # The merge log holds every identities row (materialized view) and the links a guard held back
    # (0013): a person seen only on a shared device is found too. A role address (held role_address)
    # is no person and links nobody, so its rows do not widen the search.
    edges = f"{database}.{tables.IDENTITY_EDGES}"
    # Two rounds reach people -> devices -> other people sharing a device; deeper chains are not links
    # of the same person and stay.
    for _ in range(2):
        rows = client.execute(
            f"SELECT DISTINCT person_id, anonymous_id, lower(email) FROM {edges} "
            "WHERE held != 'role_address' "
            "AND (has(%(p)s, person_id) OR has(%(a)s, anonymous_id) OR has(%(e)s, lower(email)))",
            {"p": sorted(people), "a": sorted(devices), "e": sorted(emails)},
        )
        for person, device, email in rows:
            people.add(person)
            devices.add(device)
            emails.add(email)
        people.discard("")
        devices.discard("")
        emails.discard("")
    return Erasure(sorted(people), sorted(devices), sorted(emails))


def _targets(database: str) -> list[tuple[str, str]]:
    """(table, predicate) in deletion order; predicates use %(p)s people, %(a)s devices, %(e)s emails."""
    by_person = "has(%(p)s, person_id) OR has(%(a)s, anonymous_id)"
    touch = f"{database}.{tables.TOUCHPOINTS}"
    return [
        (tables.ATTRIBUTION_CREDITS, f"event_id IN (SELECT event_id FROM {touch} WHERE {by_person})"),
        (tables.TOUCHPOINTS, by_person),
        # Derived from touchpoints by a materialized view, which a DELETE on touchpoints does not reach.
        (tables.TOUCH_DEVICES, by_person),
        (tables.PRODUCT_EVENTS, by_person),
        (tables.SELF_REPORTS, by_person),
        (tables.CONVERSIONS, "has(%(p)s, person_id)"),
        (tables.IDENTITIES, f"{by_person} OR has(%(e)s, lower(email))"),
        # The merge log, fed from identities by a materialized view a DELETE does not reach (0010), and
        # the held links (0013): a role address held on one of the person's devices goes by anonymous_id.
        (tables.IDENTITY_EDGES, f"{by_person} OR has(%(e)s, lower(email))"),
        # split / unlink / relink of the person's edges: child or parent is one of their ids (0013).
        (
            tables.IDENTITY_REVOCATIONS,
            "has(%(p)s, child) OR has(%(p)s, parent) OR has(%(a)s, child) OR has(%(e)s, lower(child)) "
            "OR has(%(e)s, lower(parent))",
        ),
    ]


def erase(client: Client, database: str, subject: Subject, *, dry_run: bool = False) -> Erasure:
    """Delete every row of ``subject``; returns the ids found and the rows removed per table."""
    found = resolve(client, database, subject)
    params = {"p": found.person_ids, "a": found.anonymous_ids, "e": found.emails}
    _stream_keys(client, database, found, params)
    for table, predicate in _targets(database):
        target = f"{database}.{table}"
        # Raw count (not FINAL): redelivered copies not yet merged are rows too, and they go as well.
        (count,) = client.execute(f"SELECT count() FROM {target} WHERE {predicate}", params)[0]
        found.deleted[table] = int(count)
        if count and not dry_run:
            client.execute(f"DELETE FROM {target} WHERE {predicate}", params)
    return found


def _stream_keys(client: Client, database: str, found: Erasure, params: dict[str, list[str]]) -> None:
    """Read what the stream erasure needs while the rows still exist."""
    by_person = "has(%(p)s, person_id) OR has(%(a)s, anonymous_id)"
    rows = client.execute(
        f"SELECT DISTINCT event_id, account_id FROM {database}.{tables.TOUCHPOINTS} WHERE {by_person}", params
    )
    found.event_ids = sorted({event_id for event_id, _ in rows})
    linked = client.execute(
        f"SELECT DISTINCT account_id FROM {database}.{tables.IDENTITIES} "
        f"WHERE {by_person} OR has(%(e)s, lower(email))",
        params,
    )
    found.accounts = sorted(({account for _, account in rows} | {a for (a,) in linked}) - {""})
