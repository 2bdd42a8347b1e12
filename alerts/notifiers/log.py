"""Alerts as one structured log line each."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from alerts.detect import Alert

__all__ = ["LogNotifier"]


@dataclass
class LogNotifier:
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("touchstream.alerts"))
    name: str = "log"

    def send(self, alert: Alert) -> None:
        level = logging.WARNING if alert.state == "firing" else logging.INFO
        self.logger.log(
            level,
            "alert state=%s kind=%s subject=%s value=%.4g baseline=%.4g id=%s %s",
            alert.state,
            alert.kind,
            alert.subject,
            alert.value,
            alert.baseline,
            alert.alert_id,
            alert.message,
        )
