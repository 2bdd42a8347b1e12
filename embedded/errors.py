"""Errors of the embedded services."""

from __future__ import annotations

from schemas.errors import TouchstreamError

__all__ = ["EmbeddedServiceError"]


class EmbeddedServiceError(TouchstreamError):
    """An embedded broker or ClickHouse server did not start or died; the message says which and why."""
