"""Generic JSON webhook: the alert row as JSON, with an ``Idempotency-Key`` header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from alerts.detect import Alert
from alerts.notifiers.base import RetryPolicy, post_json

__all__ = ["WebhookNotifier", "webhook_payload"]


def webhook_payload(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id,
        "ts": alert.ts,
        "kind": alert.kind,
        "subject": alert.subject,
        "state": alert.state,
        "value": alert.value,
        "baseline": alert.baseline,
        "message": alert.message,
        "fired_at": alert.fired_at,
        "labels": dict(alert.labels),
    }


@dataclass
class WebhookNotifier:
    url: str
    client: httpx.Client
    policy: RetryPolicy = RetryPolicy()
    name: str = "webhook"

    def send(self, alert: Alert) -> None:
        # Receivers can drop retried deliveries by this key (a 500 after processing, then a retry).
        headers = {"idempotency-key": alert.alert_id}
        post_json(
            self.client,
            self.url,
            webhook_payload(alert),
            target=self.name,
            policy=self.policy,
            headers=headers,
        )
