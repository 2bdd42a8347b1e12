"""Dead-letter envelopes for what the stream workers cannot use (the original bytes and the reason)."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.records import DeadLetter

__all__ = ["STAGE", "dead_letter"]

STAGE = "streams"


def dead_letter(
    reason: str,
    original: bytes,
    topic: str,
    errors: list[dict[str, str]] | None = None,
    details: dict[str, object] | None = None,
) -> DeadLetter:
    return DeadLetter(
        stage=STAGE,
        reason=reason,
        errors=errors or [],
        topic=topic,
        original=original.decode("utf-8", errors="replace"),
        at=datetime.now(UTC),
        details=details or {},
    )
