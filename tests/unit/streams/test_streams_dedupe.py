# ruff: noqa: E501 - fixtures read best on one line
"""First accepted copy wins (streams.dedupe): later copies of an event id with other content never reach downstream."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import jsonio
from schemas.events import parse_event
from streams.config import StreamConfig
from streams.dedupe import DAY_S, REASON, apply_index, content_digest, index_of, seed_envelope
from streams.stage_enrich import BatchOutput, process_events

CONFIG = StreamConfig.build()
OFF = replace(CONFIG, dedupe_days=0)
T = CONFIG.topics
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z: entries are dated by this arrival time
ID = "5b0c1a52-0c39-4d5e-9a43-7c1e8f9b2d10"


def _event(event_id: str = ID, ts: str = "2025-12-30T10:00:00Z", **kw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id,
        "type": "form_submit",
        "form_id": "demo",
        "form_kind": "demo_request",
        "ts": ts,
        "anonymous_id": "A",
        "email": "ann@acme.io",
        "context": {"url": "https://acme.example/demo"},
        "utm": {"source": "google", "medium": "cpc"},
        "properties": {"plan": "pro"},
        "received_at": "2025-12-30T10:00:01Z",
        "source": "site",
    }
    event.update(kw)
    return event


def _raw(event: dict[str, Any]) -> bytes:
    return jsonio.dumps(event)


class Tables:
    """The two stage-1 tables, written as the agent writes them: only after a batch's outputs."""

    def __init__(self) -> None:
        self.identity: dict[str, bytes] = {}
        self.dedupe: dict[str, bytes] = {}
        self.index: dict[bytes, bytes] = {}  # the worker's in-memory index of ``dedupe``

    def run(
        self,
        raw: list[bytes],
        *,
        config: StreamConfig = CONFIG,
        now: float = NOW,
        partitions: list[int] | None = None,
        commit: bool = True,
    ) -> BatchOutput:
        out = process_events(
            config,
            raw,
            self.identity.get,
            seen_load=self.dedupe.get,
            seen_index=self.index,
            partitions=partitions,
            now=now,
        )
        if commit:
            for table, writes in ((self.identity, out.writes), (self.dedupe, out.seen)):
                for key, (value, _) in writes.items():
                    if value is None:
                        table.pop(key, None)
                    else:
                        table[key] = value
            apply_index(self.index, out.seen_index)
        return out

    def restored(self) -> dict[bytes, bytes]:
        """The index a worker rebuilds from the table (restored from its changelog) on assignment."""
        return index_of((k.encode(), v) for k, v in self.dedupe.items())


def _downstream(out: BatchOutput) -> list[tuple[str, bytes, bytes]]:
    return [s for s in out.sends if s[0] != T.dead_letter]


def _letters(out: BatchOutput) -> list[dict[str, Any]]:
    return [jsonio.loads(v) for t, _, v in out.sends if t == T.dead_letter]


def _touchpoints(out: BatchOutput) -> list[dict[str, Any]]:
    return [jsonio.loads(v) for t, _, v in out.sends if t == T.touchpoints]


# -- the digest ------------------------------------------------------------------------------


def test_digest_ignores_receipt_stamps_and_normalised_forms() -> None:
    base = parse_event(_raw(_event()))
    again = parse_event(_raw(_event(received_at="2026-01-02T00:00:00Z", source="segment")))
    no_stamps = {k: v for k, v in _event().items() if k not in ("received_at", "source")}
    reordered = _event(properties={"plan": "pro"}, email="ANN@acme.io", ts="2025-12-30T11:00:00+01:00")
    assert content_digest(again) == content_digest(base)
    assert content_digest(parse_event(_raw(no_stamps))) == content_digest(base)
    assert content_digest(parse_event(_raw(reordered))) == content_digest(base)
    assert len(content_digest(base)) == 16


def test_digest_changes_on_any_content_change() -> None:
    base = content_digest(parse_event(_raw(_event())))
    changes: list[dict[str, Any]] = [
        {"ts": "2025-12-30T10:00:00.001Z"},
        {"properties": {"plan": "team"}},
        {"properties": {"plan": "pro", "seats": 3}},
        {"context": {"url": "https://acme.example/demo?x=1"}},
        {"utm": {"source": "google", "medium": "cpc", "campaign": "q1"}},
        {"anonymous_id": "B"},
        {"email": "bob@acme.io"},
        {"form_kind": "trial"},
        {"self_reported": "podcast"},
    ]
    digests = {content_digest(parse_event(_raw(_event(**change)))) for change in changes}
    assert base not in digests and len(digests) == len(changes)


# -- the verdicts ------------------------------------------------------------------------------


def test_a_replay_with_other_content_is_dead_lettered_and_produces_nothing_else() -> None:
    tables = Tables()
    first = tables.run([_raw(_event())])
    assert _touchpoints(first) and any(t == T.identities for t, _, _ in first.sends)
    identity_before = dict(tables.identity)
    replay = _event(
        ts="2025-12-31T09:00:00Z", properties={"plan": "enterprise"}, received_at="2026-01-01T00:00:05Z"
    )
    out = tables.run([_raw(replay)], now=NOW + 3600)
    assert _downstream(out) == [] and out.writes == {} and out.dead_letters == 1
    (letter,) = _letters(out)
    assert letter["reason"] == REASON == "duplicate event id: first copy kept"
    assert (
        letter["details"] == {"event_id": ID}
        and jsonio.loads(letter["original"])["ts"] == "2025-12-31T09:00:00Z"
    )
    assert tables.identity == identity_before


def test_without_dedupe_the_replay_reaches_downstream() -> None:
    """The old behaviour (dedupe off): the replay's touchpoint, dated another day, goes to the sink."""
    tables = Tables()
    tables.run([_raw(_event())], config=OFF)
    out = tables.run([_raw(_event(ts="2025-12-31T09:00:00Z"))], config=OFF)
    assert [tp["ts"] for tp in _touchpoints(out)] == ["2025-12-31T09:00:00Z"] and out.dead_letters == 0


def test_an_identical_copy_passes_through_exactly_as_without_dedupe() -> None:
    tables = Tables()
    value = _raw(_event())
    tables.run([value])
    identity = dict(tables.identity)
    on = process_events(CONFIG, [value], identity.get, seen_load=tables.dedupe.get, now=NOW + 60)
    off = process_events(OFF, [value], identity.get, now=NOW + 60)
    assert on.sends == off.sends and on.writes == off.writes and on.dead_letters == 0
    assert _touchpoints(on)  # a redelivery still produces (downstream is idempotent)


def test_a_resent_copy_with_another_receipt_is_dropped_quietly() -> None:
    tables = Tables()
    tables.run([_raw(_event())])
    out = tables.run([_raw(_event(received_at="2025-12-30T10:05:00Z", source="write"))])
    assert out.sends == [] and out.retries == 1 and out.dead_letters == 0


def test_two_different_copies_in_one_batch_keep_the_first() -> None:
    tables = Tables()
    second = _event(ts="2025-11-02T08:00:00Z", properties={"plan": "free"})
    out = tables.run([_raw(_event()), _raw(second), _raw(_event())])  # the third: the first's bytes again
    assert [tp["ts"] for tp in _touchpoints(out)] == ["2025-12-30T10:00:00Z"] * 2
    assert [jsonio.loads(d["original"])["ts"] for d in _letters(out)] == ["2025-11-02T08:00:00Z"]
    alone = Tables().run([_raw(_event())])
    assert (
        tables.index[uuid.UUID(ID).bytes] == Tables().run([_raw(_event())]).seen_index[uuid.UUID(ID).bytes]
        and alone.dead_letters == 0
    )


def test_a_crash_replay_of_a_batch_gives_the_same_outputs() -> None:
    """State is written only after a batch's outputs: a crash replays the batch against the old state."""
    tables = Tables()
    tables.run([_raw(_event(event_id=str(uuid.UUID(int=1)), anonymous_id="B"))])
    batch = [
        _raw(_event()),
        _raw(_event(ts="2025-12-31T00:00:00Z")),
        _raw(_event(event_id=str(uuid.UUID(int=1)), anonymous_id="B", ts="2025-01-01T00:00:00Z")),
    ]
    lost = tables.run(batch, commit=False)
    again = tables.run(batch)

    def without_time(out: BatchOutput) -> list[Any]:
        return [(t, k, v if t != T.dead_letter else {**jsonio.loads(v), "at": None}) for t, k, v in out.sends]

    assert without_time(lost) == without_time(again) and (lost.seen, lost.seen_index, lost.writes) == (
        again.seen,
        again.seen_index,
        again.writes,
    )
    assert again.dead_letters == 2
    # ... and once written, replaying the same batch once more still drops both replays.
    assert tables.run(batch).dead_letters == 2


def test_spend_is_never_deduplicated_a_resent_cell_corrects_it() -> None:
    spend = {
        "event_id": ID,
        "type": "spend",
        "ts": "2025-12-30T00:00:00Z",
        "date": "2025-12-30",
        "channel": "paid_search",
        "cost": 10.0,
    }
    tables = Tables()
    tables.run([_raw(spend)])
    out = tables.run([_raw({**spend, "cost": 12.5})])
    assert [jsonio.loads(v)["cost"] for t, _, v in out.sends if t == T.spend] == [
        12.5
    ] and out.seen_index == {}


def test_an_invalid_copy_is_not_remembered_so_a_valid_one_is_still_accepted() -> None:
    tables = Tables()
    bad = tables.run([_raw(_event(ts="not a time"))])
    assert bad.dead_letters == 1 and bad.seen_index == {}
    good = tables.run([_raw(_event())])
    assert _touchpoints(good) and good.dead_letters == 0


# -- retention -------------------------------------------------------------------------------


def test_entries_expire_after_the_window_and_are_swept() -> None:
    config = replace(CONFIG, dedupe_days=2)
    tables = Tables()
    per_day = 5
    for day in range(12):
        raw = [
            _raw(_event(event_id=str(uuid.UUID(int=day * 100 + i)), anonymous_id=f"v{i}"))
            for i in range(per_day)
        ]
        tables.run(raw, config=config, now=NOW + day * DAY_S, partitions=[i % 2 for i in range(per_day)])
        entries = list(tables.index)
        assert len(entries) <= per_day * (config.dedupe_days + 2)  # the window, today, the day being swept
    live = set(tables.index)
    assert live == {uuid.UUID(int=d * 100 + i).bytes for d in (9, 10, 11) for i in range(per_day)}
    assert tables.restored() == tables.index
    index = {k for k in tables.dedupe if k.startswith("x:")}
    # Per partition: the swept mark, and a count and a chunk (one batch a day here) per live day.
    assert len(index) <= 2 * (1 + 2 * (config.dedupe_days + 1))


def test_a_copy_after_the_window_is_a_new_event() -> None:
    """Older than TOUCHSTREAM_DEDUPE_DAYS by arrival: accepted again (documented, as Segment's 24 h)."""
    config = replace(CONFIG, dedupe_days=1)
    tables = Tables()
    tables.run([_raw(_event())], config=config)
    late = tables.run([_raw(_event(ts="2025-12-31T09:00:00Z"))], config=config, now=NOW + 2 * DAY_S)
    inside = Tables()
    inside.run([_raw(_event())], config=config)
    assert _touchpoints(late) and late.dead_letters == 0
    assert (
        inside.run([_raw(_event(ts="2025-12-31T09:00:00Z"))], config=config, now=NOW + DAY_S).dead_letters
        == 1
    )


# -- any arrival order -------------------------------------------------------------------------

_COPIES = st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(copies=_COPIES, data=st.data())
def test_downstream_sees_the_first_arrived_copy_of_each_id_in_any_order(
    copies: list[int], data: st.DataObject
) -> None:
    # Event i has copies[i] versions differing in ts and properties; visitors shared by some events.
    versions = [
        (
            i,
            c,
            _raw(
                _event(
                    event_id=str(uuid.UUID(int=i + 1)),
                    anonymous_id=f"v{i % 2}",
                    ts=f"2025-12-{10 + c:02d}T0{i}:00:00Z",
                    properties={"v": c},
                )
            ),
        )
        for i, n in enumerate(copies)
        for c in range(n)
    ]
    order = data.draw(st.permutations(versions))
    # Some copies arrive twice (redelivery of the same bytes).
    redelivered = data.draw(st.lists(st.sampled_from(order), max_size=3))
    stream = [*order, *redelivered]
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=max(len(stream) - 1, 1)), max_size=4)))
    tables = Tables()
    touch: dict[str, set[str]] = {}
    records: dict[str, dict[str, Any]] = {}
    letters = 0
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        if data.draw(st.booleans()):  # a restart / rebalance: the index rebuilt from the table
            tables.index = tables.restored()
        out = tables.run([v for _, _, v in stream[start:end]])
        letters += out.dead_letters
        for tp in _touchpoints(out):
            touch.setdefault(tp["event_id"], set()).add(tp["ts"])
            records.setdefault(tp["event_id"], tp)
    first: dict[int, int] = {}
    for i, c, _ in stream:
        first.setdefault(i, c)
    assert touch == {
        str(uuid.UUID(int=i + 1)): {f"2025-12-{10 + c:02d}T0{i}:00:00Z"} for i, c in first.items()
    }
    assert tables.restored() == tables.index
    later_versions = {(i, c) for i, c, _ in stream if c != first[i]}
    assert letters == sum(1 for i, c, _ in stream if (i, c) in later_versions)
    # The touchpoints are those the first copies alone make, without dedupe.
    firsts = [v for i, c, v in order if c == first[i]]
    assert records == {tp["event_id"]: tp for tp in _touchpoints(process_events(OFF, firsts, {}.get))}


# -- re-seeded from ClickHouse (streams.rebuild) ------------------------------------------------


def test_seeded_ids_make_any_later_copy_a_dead_letter() -> None:
    today = int(NOW // DAY_S)
    old, stale = str(uuid.UUID(int=7)), str(uuid.UUID(int=8))
    tables = Tables()
    seeded = tables.run([seed_envelope([(ID, today - 1), (old, today - 7), (stale, today - 8)])])
    assert seeded.sends == [] and set(tables.index) == {uuid.UUID(ID).bytes, uuid.UUID(old).bytes}
    assert tables.restored() == tables.index
    out = tables.run([_raw(_event()), _raw(_event(event_id=stale, anonymous_id="S"))])
    assert [d["details"]["event_id"] for d in _letters(out)] == [ID]
    assert [tp["event_id"] for tp in _touchpoints(out)] == [stale]  # outside the window: new
    # The seeded chunk is swept with its day.
    for day in range(1, 9):
        tables.run(
            [_raw(_event(event_id=str(uuid.UUID(int=100 + day)), anonymous_id="T"))], now=NOW + day * DAY_S
        )
    assert uuid.UUID(ID).bytes not in tables.index and tables.restored() == tables.index


def test_a_seed_envelope_is_never_an_event() -> None:
    assert Tables().run([seed_envelope([(ID, 1)])], config=OFF).sends == []
    bad = Tables().run([b'{"$control":"seen","ids":[["not-a-uuid", 3]]}', b'{"$control":"seen","ids":7}'])
    assert [d["reason"] for d in _letters(bad)] == ["invalid control envelope"] * 2
