"""Slack-compatible incoming webhook (also Mattermost, Rocket.Chat, Teams' Slack endpoint)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from alerts.detect import Alert
from alerts.notifiers.base import RetryPolicy, post_json

__all__ = ["SlackNotifier", "slack_payload"]

_COLOR = {"firing": "#d93f0b", "resolved": "#2eb67d"}
_EMOJI = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}


def slack_payload(alert: Alert) -> dict[str, Any]:
    """``text`` for clients that show only that, plus a coloured attachment with the numbers."""
    return {
        "text": f"{_EMOJI[alert.state]} {alert.message}",
        "attachments": [
            {
                "color": _COLOR[alert.state],
                "fallback": alert.message,
                "fields": [
                    {"title": "kind", "value": alert.kind, "short": True},
                    {"title": "subject", "value": alert.subject, "short": True},
                    {"title": "value", "value": f"{alert.value:,.2f}", "short": True},
                    {"title": "baseline", "value": f"{alert.baseline:,.2f}", "short": True},
                    *({"title": k, "value": v, "short": True} for k, v in alert.labels),
                ],
                "footer": f"touchstream alert {alert.alert_id}",
                "ts": int(alert.ts.timestamp()),
            }
        ],
    }


@dataclass
class SlackNotifier:
    url: str
    client: httpx.Client
    policy: RetryPolicy = RetryPolicy()
    name: str = "slack"

    def send(self, alert: Alert) -> None:
        post_json(self.client, self.url, slack_payload(alert), target=self.name, policy=self.policy)
