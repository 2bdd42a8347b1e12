"""Errors of the ClickHouse side."""

from __future__ import annotations

from schemas.errors import TouchstreamError

__all__ = ["ClickHouseUnavailableError", "MigrationError", "SinkError"]


class SinkError(TouchstreamError):
    """The sink could not land a batch."""


class ClickHouseUnavailableError(SinkError):
    """ClickHouse did not answer; the caller should back off and retry (nothing was committed)."""


class MigrationError(TouchstreamError):
    """A schema migration failed; the message names the file and keeps ClickHouse's error code."""
