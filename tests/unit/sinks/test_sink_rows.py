"""Row decoding, batch column checks and deduplication tokens of the sink (no services)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import pytest
from kafka.structs import TopicPartition

from schemas import jsonio, records, topics
from sinks.batcher import Batch
from sinks.rows import SPECS_BY_TOPIC, BadRowError, decode, to_columns
from sinks.writer import split_rejects

SPEC = SPECS_BY_TOPIC[topics.TOUCHPOINTS]
TS = dt.datetime(2026, 3, 1, 10, 0, 0, 123000, tzinfo=dt.UTC)


def record(**over) -> bytes:
    rec = records.TouchpointRecord(
        event_id="e1", ts=TS, type="page_view", channel="email", channel_category="lead_gen"
    )
    return jsonio.dumps({**rec.model_dump(mode="json"), **over})


def test_columns_follow_the_record_model():
    assert SPEC.names[:2] == ("event_id", "ts") and "v" not in SPEC.names
    assert set(SPEC.names) == set(records.TouchpointRecord.model_fields) - {"v"}


def test_decode_and_columns_convert_types():
    row = decode(SPEC, record(is_bot=True))
    cols = dict(zip(SPEC.names, to_columns(SPEC, [row]), strict=True))
    assert cols["ts"] == [int(TS.timestamp() * 1000)]  # DateTime64(3) ticks
    assert cols["received_at"] == [0]  # JSON null in an optional field -> default
    assert list(cols["is_bot"]) == [True] and list(cols["url"]) == [""]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [(b"{not json", "not JSON"), (b"[1]", "not a JSON object"), (jsonio.dumps({"event_id": "x"}), "missing")],
)
def test_undecodable_payloads_are_bad_rows(payload, reason):
    with pytest.raises(BadRowError) as info:
        decode(SPEC, payload)
    assert info.value.reason.startswith(reason)


class Msg(NamedTuple):
    offset: int
    value: bytes


def test_a_mistyped_value_fails_the_batch_check_and_is_split_off():
    batch = Batch(SPEC, 10, 1.0)
    tp = TopicPartition("t", 0)
    payloads = [record(), record(is_bot="yes"), record(ts="yesterday"), record(reach=-1), record(reach=3)]
    batch.add(tp, [Msg(offset, payload) for offset, payload in enumerate(payloads)])
    assert batch.values() == payloads and len(batch) == 5
    with pytest.raises(BadRowError):
        to_columns(SPEC, [decode(SPEC, p) for p in payloads])
    split_rejects(batch)
    assert batch.decoded and len(batch.rows) == 2
    assert [(r.offset, r.field) for r in batch.rejects] == [(1, "is_bot"), (2, "ts"), (3, "reach")]
    assert batch.commit_offsets()[tp] == 5  # rejects still advance the committed offset


def test_token_depends_only_on_table_and_offset_ranges():
    a, b = Batch(SPEC, 10, 1.0), Batch(SPEC, 10, 1.0)
    for batch, order in ((a, [0, 1]), (b, [1, 0])):
        for p in order:
            batch.track(TopicPartition("t", p), 5, 9)
    assert a.token() == b.token()
    b.track(TopicPartition("t", 1), 10, 10)
    assert a.token() != b.token()
    assert a.due(now=0.0) is False and a.due(now=a.started + 1.0) is True
