"""The shared dead-letter helper: envelope produced to a topic and read back intact."""

from __future__ import annotations

import pytest
from conftest import read_topic
from kafka import KafkaProducer

from collector.dead_letter import make_dead_letter, send_dead_letter
from schemas.errors import FieldError, InvalidEvent
from schemas.events import parse_event

pytestmark = pytest.mark.integration


def test_dead_letter_carries_reason_errors_and_original(kafka_bootstrap, topic_factory) -> None:
    topic = topic_factory(partitions=1, prefix="dlq")
    raw = b'{"type":"page_view","ts":"yesterday"}\xff'
    with pytest.raises(InvalidEvent) as exc:
        parse_event(raw[:-1])
    letter = make_dead_letter(
        "streams", "invalid event", raw, errors=exc.value.errors, topic="touchstream.events"
    )
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        send_dead_letter(producer, letter, key=b"k", topic=topic).get(timeout=10)
    finally:
        producer.close()
    ((key, got),) = read_topic(kafka_bootstrap, topic, 1)
    assert key == b"k"
    assert (
        got["stage"] == "streams"
        and got["reason"] == "invalid event"
        and got["topic"] == "touchstream.events"
    )
    assert got["original"] == '{"type":"page_view","ts":"yesterday"}\ufffd'
    assert {"field": "event_id", "reason": "Field required"} in got["errors"]


def test_dead_letter_truncates_huge_payloads() -> None:
    letter = make_dead_letter("collector", "too big", "x" * 100_000, errors=[FieldError("$", "big")])
    assert len(letter.original) == 64 * 1024 and letter.details == {"truncated": True}
