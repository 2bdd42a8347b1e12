"""Collector errors; each maps to one HTTP answer and never carries the caller's input.

CollectorError
├── RequestError        4xx with per-field reasons (400/401/403/413/415/422/429)
│   └── RateLimitedError        429 with Retry-After
└── BrokerUnavailableError      503 with Retry-After: the broker did not take the events
"""

from __future__ import annotations

from schemas.errors import FieldError, TouchstreamError

__all__ = ["BrokerUnavailableError", "CollectorError", "RateLimitedError", "RequestError"]


class CollectorError(TouchstreamError):
    """Base of every error the collector answers with."""


class RequestError(CollectorError):
    """The request cannot be used: ``status`` and a fixed message, plus field errors when known."""

    def __init__(self, status: int, message: str, errors: list[FieldError] | None = None) -> None:
        self.status = status
        self.message = message
        self.errors = errors or []
        super().__init__(f"{status}: {message}")


class RateLimitedError(RequestError):
    """The key used up its token bucket; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(429, "rate limit exceeded for this key")


class BrokerUnavailableError(CollectorError):
    """Kafka did not acknowledge the events; nothing was accepted, the sender must retry."""

    def __init__(self, reason: str, retry_after: int = 5) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(f"broker unavailable: {reason}")
