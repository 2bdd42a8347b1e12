"""Lenient readers for other trackers' loosely typed fields: strings, objects, times, durations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from compat.errors import ForeignMessageError
from schemas.events import from_epoch_ms

__all__ = ["as_id", "as_obj", "as_str", "as_time", "corrected_ts", "non_negative"]


def as_str(value: object, limit: int = 4096) -> str | None:
    """A non-empty string cut to ``limit``; anything else is None (trackers send nulls and numbers)."""
    if isinstance(value, str):
        value = value.strip()
        return value[:limit] or None
    return None


def as_id(value: object) -> str | None:
    """User and anonymous ids: Segment allows numbers as well as strings."""
    if isinstance(value, str):  # the common case first: two of these per message
        return as_str(value, 256)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def as_obj(value: object, field: str) -> dict[str, Any]:
    """An optional JSON object; absent or null is empty, any other type is the sender's error."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise ForeignMessageError.at(field, "expected a JSON object")


def as_time(value: object, field: str) -> datetime | None:
    """ISO 8601 (what the SDKs send) or epoch milliseconds; naive times are UTC."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return from_epoch_ms(value)
        if isinstance(value, str):
            if value.isascii() and value.isdigit():
                return from_epoch_ms(value)
            parsed = datetime.fromisoformat(value)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: astimezone() past year 1 or 9999
        pass
    raise ForeignMessageError.at(field, "expected an ISO 8601 time or epoch milliseconds")


def corrected_ts(
    created: datetime | None, sent: datetime | None, received_at: datetime, field: str = "timestamp"
) -> datetime:
    """The device's time corrected for its clock skew: ``created + (received_at - sent)``.

    Segment's rule (and Snowplow's derived timestamp): the device's clock is wrong by the same
    amount when it stamps and when it sends, so only the delay it measured itself is trusted.
    A correction that leaves datetime's range (year 9999 sent "in year 2000") is ``field``'s error.
    """
    if created is None:
        return received_at
    if sent is None:
        return created
    try:
        return created + (received_at - sent)
    except OverflowError:
        raise ForeignMessageError.at(field, "time out of range once corrected by the send time") from None


def non_negative(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if number >= 0 else None
    return None
