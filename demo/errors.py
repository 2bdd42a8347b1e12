"""Errors of the demo generator and sender."""

from __future__ import annotations

from schemas.errors import TouchstreamError

__all__ = ["CollectorRejectedError", "CollectorUnavailableError", "DemoError"]


class DemoError(TouchstreamError):
    """Root of the demo generator's errors."""


class CollectorUnavailableError(DemoError):
    """The collector kept answering 429/503 or refusing connections past the retry budget."""


class CollectorRejectedError(DemoError):
    """The collector answered 4xx to a request the generator believes valid: a contract mismatch."""

    def __init__(self, path: str, status: int, body: str) -> None:
        super().__init__(f"{path} answered {status}: {body[:500]}")
        self.path, self.status, self.body = path, status, body
