"""Root of Touchstream's exception tree.

    TouchstreamError
    ├── InvalidEvent            (schemas)   an event broke the contract; carries per-field errors
    ├── JSONShapeError          (schemas)   decoded JSON that cannot be written back (too deep, ...)
    ├── ConfigError             (schemas)   a setting or rules file is unusable
    ├── EmbeddedServiceError    (embedded)  an embedded broker / ClickHouse failed to start
    ├── MigrationError          (sinks)     the ClickHouse schema could not be applied
    ├── CollectorError          (collector)
    ├── StreamError             (streams)
    ├── SinkError               (sinks)
    ├── AttributionError        (attribution)
    └── AlertError              (alerts)

Stages subclass these in their own ``errors.py``; third-party errors are wrapped with
``raise ... from exc`` so the Kafka or ClickHouse error code stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConfigError", "FieldError", "InvalidEvent", "JSONShapeError", "TouchstreamError"]


class TouchstreamError(Exception):
    """Base class of every error Touchstream raises on purpose."""


class ConfigError(TouchstreamError):
    """A setting or a marketer-editable rules file cannot be used as given."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason an event was rejected: a dotted field path and a human-readable reason."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class InvalidEvent(TouchstreamError):  # noqa: N818 - reads as the event it describes; public API
    """An event broke the contract. ``errors`` names every bad field, never echoes raw input."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        summary = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
        super().__init__(f"invalid event: {summary}")

    def as_dicts(self) -> list[dict[str, str]]:
        return [e.as_dict() for e in self.errors]


class JSONShapeError(TouchstreamError, ValueError):
    """A caller's JSON value cannot be encoded again: nested too deep, an integer beyond 64 bits, ...

    A ``ValueError``, so a pydantic validator that meets one reports it as that field's error.
    ``field`` is the top-level key holding the bad value (``"$"`` when unknown or not a plain name)
    and ``reason`` fixed text: neither ever echoes the input.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(reason)

    def as_field_error(self) -> FieldError:
        return FieldError(self.field, self.reason)
