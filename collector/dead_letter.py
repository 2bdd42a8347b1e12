"""Dead letters: a rejected payload, who rejected it and why, produced to ``touchstream.dead-letter``.

Shared by the collector and the stream workers, so every reject has the same envelope. HTTP callers
get their 4xx instead; this is for events that reached Kafka some other way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from schemas import jsonio, topics
from schemas.errors import FieldError
from schemas.records import DeadLetter

__all__ = ["make_dead_letter", "send_dead_letter"]

_MAX_ORIGINAL = 64 * 1024  # keep the envelope well under the broker's message limit


def make_dead_letter(
    stage: str,
    reason: str,
    original: bytes | str,
    *,
    errors: list[FieldError] | None = None,
    topic: str = "",
    details: dict[str, Any] | None = None,
) -> DeadLetter:
    """Build the envelope; non-UTF-8 bytes become replacement characters, long payloads are cut."""
    text = original.decode("utf-8", errors="replace") if isinstance(original, bytes) else original
    truncated = len(text) > _MAX_ORIGINAL
    return DeadLetter(
        stage=stage,
        reason=reason,
        errors=[e.as_dict() for e in errors or []],
        topic=topic,
        original=text[:_MAX_ORIGINAL],
        at=datetime.now(UTC),
        details={**(details or {}), **({"truncated": True} if truncated else {})},
    )


def send_dead_letter(
    producer: KafkaProducer,
    letter: DeadLetter,
    *,
    key: bytes | None = None,
    topic: str = topics.DEAD_LETTER,
) -> FutureRecordMetadata:
    """Produce ``letter``; the caller decides whether to wait on the returned future."""
    return producer.send(topic, key=key, value=jsonio.dumps(letter.model_dump(mode="json")))
