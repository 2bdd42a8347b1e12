"""Errors raised by the alerting stage."""

from __future__ import annotations

from schemas.errors import ConfigError, TouchstreamError

__all__ = ["AlertError", "AlertQueryError", "AlertRulesError", "DeliveryError", "LagProbeError"]


class AlertError(TouchstreamError):
    """Base class of the errors the alerting stage raises on purpose."""


class AlertRulesError(AlertError, ConfigError):
    """The alert rules file is missing, unreadable or breaks the rules schema."""


class AlertQueryError(AlertError):
    """A monitoring query against ClickHouse failed; the driver's error code is kept as the cause."""


class LagProbeError(AlertError):
    """Consumer-group offsets or high-water marks could not be read from the broker."""


class DeliveryError(AlertError):
    """A notifier gave up after its retries; ``attempts`` says how many were made."""

    def __init__(self, target: str, attempts: int, reason: str) -> None:
        self.target = target
        self.attempts = attempts
        super().__init__(f"alert delivery to {target} failed after {attempts} attempt(s): {reason}")
