"""Errors raised while building reports: bad options, no reachable ClickHouse, failed queries."""

from __future__ import annotations

from schemas.errors import TouchstreamError

__all__ = ["ClickHouseUnavailableError", "QueryFailedError", "ReportError", "ReportOptionError"]


class ReportError(TouchstreamError):
    """Base class of the errors the reports stage raises on purpose."""


class ReportOptionError(ReportError, ValueError):
    """An option that cannot be reported on: unknown model or stage, unparsable period, bad identifier."""


class ClickHouseUnavailableError(ReportError):
    """No ClickHouse to read: nothing configured, no running ``touchstream up``, or it does not answer."""


class QueryFailedError(ReportError):
    """A report query failed on the server; ``code`` is ClickHouse's error code when it sent one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)
