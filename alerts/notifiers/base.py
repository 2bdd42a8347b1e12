"""The notifier protocol, HTTP delivery with retries, and the dispatcher that drops repeats."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from alerts.detect import Alert
from alerts.errors import DeliveryError
from schemas import jsonio

__all__ = ["Dispatcher", "Notifier", "RetryPolicy", "post_json"]

log = logging.getLogger(__name__)


class Notifier(Protocol):
    name: str

    def send(self, alert: Alert) -> None:
        """Deliver one alert or raise :class:`DeliveryError`."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 0.5  # doubled after each failed attempt
    max_backoff_s: float = 10.0
    timeout_s: float = 5.0


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def post_json(
    client: httpx.Client,
    url: str,
    payload: dict[str, Any],
    *,
    target: str,
    policy: RetryPolicy = RetryPolicy(),
    headers: dict[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """POST JSON; retry 429 / 5xx / transport errors with exponential backoff (honours Retry-After)."""
    body = jsonio.dumps(payload)
    hdrs = {"content-type": "application/json", **(headers or {})}
    delay = policy.backoff_s
    reason = "no attempt made"
    for attempt in range(1, policy.attempts + 1):
        wait = delay
        try:
            response = client.post(url, content=body, headers=hdrs, timeout=policy.timeout_s)
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                return response
            if not _retryable(response.status_code):
                raise DeliveryError(target, attempt, f"HTTP {response.status_code}")
            reason = f"HTTP {response.status_code}"
            retry_after = response.headers.get("retry-after", "")
            if retry_after.isdigit():
                wait = max(wait, float(retry_after))
        if attempt < policy.attempts:
            log.warning("alert delivery to %s failed (%s); retry %d in %.1fs", target, reason, attempt, wait)
            sleep(min(wait, policy.max_backoff_s))
            delay = min(delay * 2, policy.max_backoff_s)
    raise DeliveryError(target, policy.attempts, reason)


@dataclass
class Dispatcher:
    """Sends each alert to every notifier once; a repeat (same ``alert_id``) is dropped.

    One failing target does not stop the others; its failure is logged and reported back.
    """

    notifiers: Sequence[Notifier]
    remember: int = 10_000
    _seen: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def deliver(self, alert: Alert) -> list[DeliveryError]:
        if alert.alert_id in self._seen:
            return []
        failures: list[DeliveryError] = []
        for notifier in self.notifiers:
            try:
                notifier.send(alert)
            except DeliveryError as exc:
                log.error("%s", exc)
                failures.append(exc)
        self._seen[alert.alert_id] = None
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        return failures
