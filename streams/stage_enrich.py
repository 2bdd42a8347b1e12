"""Stage 1, keyed by visitor: validate, stitch identity, enrich; route journey items by entity.

Faust-free batch logic: the agent in :mod:`streams.agents` hands it a batch of raw messages and a
state lookup, and writes back what it returns. Keeping I/O out makes it unit-testable and lets the
agent write each changed visitor once per batch instead of once per event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas import jsonio
from schemas.errors import InvalidEvent, TouchstreamError
from schemas.events import Event, IdentifyEvent, SpendEvent, parse_event
from streams.config import StreamConfig, StreamTopics
from streams.dead_letter import dead_letter
from streams.dedupe import DAY_S, REASON, SEED_PREFIX, SeenTable, Verdict
from streams.enrich import enrich, spend_record
from streams.erasure import control_keys
from streams.identity import DeviceState, Link, person_key, stitch, visitor_key
from streams.identity_control import parse_revocation
from streams.rows import IdentityRow, encode
from streams.stage_guards import guarded, identified, revoke, source_of

__all__ = ["BatchOutput", "Send", "process_events"]

Send = tuple[str, bytes, bytes]  # (topic, key, value)


@dataclass(slots=True)
class BatchOutput:
    """Records to produce (before state is written) and the changed state per table key."""

    sends: list[Send] = field(default_factory=list)
    # key -> (state, batch index); state None = delete the key (erasure)
    writes: dict[str, tuple[bytes | None, int]] = field(default_factory=dict)
    forwards: dict[str, list[list[object]]] = field(default_factory=dict)  # entity -> journey items
    dead_letters: int = 0
    # The ``dedupe`` table's changes (streams.dedupe), shaped like ``writes``; and the copies dropped
    # as re-sent (same content, another receipt).
    seen: dict[str, tuple[bytes | None, int]] = field(default_factory=dict)
    seen_index: dict[bytes, bytes | None] = field(default_factory=dict)  # streams.dedupe.apply_index
    retries: int = 0

    def forward(self, entity: str, item: list[object]) -> None:
        self.forwards.setdefault(entity, []).append(item)

    def flush_forwards(self, topic: str) -> None:
        """One ``by-account`` message per entity per batch: the items of that entity, in order."""
        for entity, items in self.forwards.items():
            self.sends.append((topic, entity.encode(), jsonio.dumps(items)))
        self.forwards.clear()


def _link_item(link: Link) -> list[object]:
    return ["l", link.parent, link.ts]


def process_events(
    config: StreamConfig,
    raw: list[bytes],
    load: Callable[[str], bytes | None],
    *,
    seen_load: Callable[[str], bytes | None] | None = None,
    seen_index: Mapping[bytes, bytes] | None = None,
    partitions: Sequence[int] | None = None,
    now: float | None = None,
) -> BatchOutput:
    """Process one batch of ``touchstream.events`` values; never raises on bad data.

    ``seen_load`` reads the ``dedupe`` table and ``seen_index`` is the worker's index of it (none: an
    empty one; :mod:`streams.dedupe`), ``partitions`` gives each value's partition (none: all 0),
    ``now`` the arrival time that dates new entries (none: the clock).
    """
    out = BatchOutput()
    topics = config.topics
    states: dict[str, DeviceState | None] = {}
    seen = None
    if config.dedupe_days > 0:
        day = int((now if now is not None else time.time()) // DAY_S)
        seen = SeenTable(seen_index or {}, seen_load or _nothing, day, config.dedupe_days)
    for index, value in enumerate(raw):
        partition = partitions[index] if partitions is not None else 0
        if seen is not None:
            seen.seen_partition(partition, index)
        if value.startswith(SEED_PREFIX):  # streams.rebuild: ids the sink holds (streams.dedupe)
            try:
                if seen is not None:
                    seen.seed(value, partition)
            except (ValueError, TypeError) as exc:
                _reject(out, topics, "invalid control envelope", value, details={"error": repr(exc)})
            continue
        try:
            revocation = parse_revocation(value)
            erased = control_keys(value)
        except ValueError as exc:
            _reject(out, topics, "invalid control envelope", value, details={"error": repr(exc)})
            continue
        if revocation is not None:
            revoke(config, out, states, load, index, revocation)
            continue
        if erased is not None:
            for key in erased:  # streams.erasure: forget these visitors / persons
                states[key] = None
                out.writes[key] = (None, index)
            continue
        try:
            event = parse_event(value)
        except InvalidEvent as exc:
            _reject(out, topics, "invalid event", value, errors=exc.as_dicts())
            continue
        verdict = seen.check(event, value) if seen is not None else None
        if verdict is Verdict.CONFLICT:
            _reject(out, topics, REASON, value, details={"event_id": str(event.event_id)})
            continue
        if verdict is Verdict.RETRY:
            out.retries += 1
            continue
        try:
            _one(config, out, states, load, index, event)
        except (TouchstreamError, ValueError, TypeError, KeyError) as exc:
            # A valid event the code cannot handle is a bug to look at, not a reason to stop the stream.
            _reject(out, topics, "unprocessable event", value, details={"error": repr(exc)})
            continue
        if seen is not None and verdict is Verdict.NEW:
            seen.accept(event, index, partition)
    if seen is not None:
        seen.finish()
        out.seen, out.seen_index = seen.writes, seen.entries
    out.flush_forwards(topics.by_account)
    return out


def _nothing(key: str) -> bytes | None:
    return None


def _reject(out: BatchOutput, topics: StreamTopics, reason: str, value: bytes, **kw: Any) -> None:
    letter = dead_letter(reason, value, topics.events, **kw)
    out.sends.append((topics.dead_letter, b"", letter.model_dump_json().encode()))
    out.dead_letters += 1


def _one(
    config: StreamConfig,
    out: BatchOutput,
    states: dict[str, DeviceState | None],
    load: Callable[[str], bytes | None],
    index: int,
    event: Event,
) -> None:
    topics = config.topics
    if isinstance(event, SpendEvent):
        out.sends.append(
            (topics.spend, str(event.event_id).encode(), spend_record(event).model_dump_json().encode())
        )
        return
    anon = event.anonymous_id
    email, domain = guarded(config, out, event)
    who = event.person_id or email
    state_key = visitor_key(anon) if anon else person_key(who) if who else ""
    if state_key and state_key not in states:
        stored = load(state_key)
        states[state_key] = DeviceState.from_json(jsonio.loads(stored)) if stored else None
    ts = event.ts.timestamp()
    result = stitch(
        states.get(state_key),
        anonymous_id=anon,
        person_id=event.person_id,
        email=email,
        account_domain=domain,
        ts=ts,
        free_domains=config.free_domains,
    )
    linked = bool(result.links and result.person)
    new_state = result.state
    # The device edge's first time, which the shared-device rule reads in SQL too, is logged even when
    # it links nothing new.
    first_seen = bool(anon and who and ts < new_state.people.get(who, float("inf")))
    if first_seen:
        new_state = identified(config, out, new_state, anon or "", who or "", ts)
    logged = linked or first_seen
    if logged:  # built only then: most events (page views) log no identity row
        edge = (str(event.event_id), source_of(event))
        rows = _identities(anon or "", result.person, result.account, event.email or "", event.ts, edge)
        for record in rows if linked else rows[:1]:
            out.sends.append((topics.identities, record.person_id.encode(), encode(record)))
    for link in result.links:
        out.forward(link.child, _link_item(link))
    if logged and anon and result.person:
        # Every device row ClickHouse gets is a link the device's journey gets too: both then take the
        # device's latest person from the same times (the device ignores a link that is not newer).
        device_link = Link(visitor_key(anon), person_key(result.person), ts)
        if device_link not in result.links:
            out.forward(device_link.child, _link_item(device_link))
    if state_key and (result.changed or new_state is not result.state):
        states[state_key] = new_state
        out.writes[state_key] = (jsonio.dumps(new_state.to_json()), index)
    if isinstance(event, IdentifyEvent):
        return
    enriched = enrich(config.rules, event, result.person, result.account)
    key = (result.account or str(event.event_id)).encode()
    if enriched.record is not None:
        out.sends.append((topics.touchpoints, key, encode(enriched.record)))
    if enriched.self_report is not None:
        out.sends.append((topics.self_reports, key, encode(enriched.self_report)))
    if not result.route:
        return  # an unidentified public mention: touchpoint row only
    if enriched.touch is not None and anon:
        # Through the device, stamped with its person: the device decides where each of its touches
        # belongs, so a split or a shared device can take them back (streams.stage_journey._device).
        out.forward(visitor_key(anon), ["t", enriched.touch.to_json(), result.person])
    elif enriched.touch is not None:
        out.forward(result.route, ["t", enriched.touch.to_json()])
    if enriched.conversion is not None:
        # The account the event names rides along: a person entity sends the conversion there, not
        # to whichever account the person is at when the item happens to arrive.
        item: list[object] = ["c", enriched.conversion.to_json(), enriched.first_lead_only]
        if result.named:
            item.append(result.named)
        out.forward(result.route, item)


def _identities(
    anon: str, person: str, account: str, email: str, at: datetime, edge: tuple[str, str]
) -> list[IdentityRow]:
    """The two row shapes ``account_journeys`` reads: visitor -> person, and person -> account.

    ``edge`` (event id, source) goes with both: ClickHouse appends every row to the merge log
    (``identity_edges``, migration 0010).
    """
    event_id, source = edge
    records = []
    if anon:
        records.append(
            IdentityRow(
                anonymous_id=anon,
                person_id=person,
                account_id=account,
                email=email,
                updated_at=at,
                event_id=event_id,
                source=source,
            )
        )
    if account:
        records.append(
            IdentityRow(
                anonymous_id="",
                person_id=person,
                account_id=account,
                email=email,
                updated_at=at,
                event_id=event_id,
                source=source,
            )
        )
    return records
