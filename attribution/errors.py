"""Errors raised by the attribution models."""

from __future__ import annotations

from schemas.errors import TouchstreamError

__all__ = ["AttributionError", "AttributionInputError", "UnknownModelError"]


class AttributionError(TouchstreamError):
    """Base class of the errors the attribution stage raises on purpose."""


class UnknownModelError(AttributionError):
    """A model name that is not one of ``RULE_BASED_MODELS`` (or ``DATA_DRIVEN_MODELS``)."""

    def __init__(self, model: str, known: tuple[str, ...]) -> None:
        self.model = model
        self.known = known
        super().__init__(f"unknown attribution model {model!r}; expected one of {', '.join(known)}")


class AttributionInputError(AttributionError, ValueError):
    """Arguments that cannot be attributed: mismatched lengths, negative counts, bad parameters.

    Also a ``ValueError`` so callers that validate generically still catch it.
    """
