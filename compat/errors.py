"""Compatibility-layer errors.

TouchstreamError
└── CompatError
    └── ForeignMessageError   one Segment / Snowplow message cannot be mapped; carries field errors
"""

from __future__ import annotations

from schemas.errors import FieldError, TouchstreamError

__all__ = ["CompatError", "ForeignMessageError"]


class CompatError(TouchstreamError):
    """Base of the errors raised while mapping other trackers' payloads."""


class ForeignMessageError(CompatError):
    """A single foreign message is unusable; ``errors`` name the fields (never echo the input)."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors[:5]))

    @classmethod
    def at(cls, field: str, reason: str) -> ForeignMessageError:
        return cls([FieldError(field, reason)])
