"""Alerts as rows in the ClickHouse ``alerts`` table, written directly and idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

from alerts.detect import Alert
from alerts.errors import DeliveryError
from alerts.queries import qualified
from schemas import tables

__all__ = ["ClickHouseNotifier"]


@dataclass
class ClickHouseNotifier:
    client: Client
    database: str
    name: str = "clickhouse"

    def send(self, alert: Alert) -> None:
        table = qualified(self.database, tables.ALERTS)
        try:
            # The table's replacing merge collapses (ts, alert_id) duplicates eventually; checking
            # first keeps a retried or restarted monitor from showing a repeat in the meantime.
            seen = self.client.execute(
                f"SELECT count() FROM {table} WHERE alert_id = %(id)s", {"id": alert.alert_id}
            )
            if seen[0][0]:
                return
            self.client.execute(
                f"INSERT INTO {table} (alert_id, ts, kind, subject, state, value, baseline, message) VALUES",
                [
                    (
                        alert.alert_id,
                        alert.ts,
                        alert.kind,
                        alert.subject,
                        alert.state,
                        alert.value,
                        alert.baseline,
                        alert.message,
                    )
                ],
            )
        except (ClickHouseError, OSError, EOFError) as exc:
            raise DeliveryError(self.name, 1, str(exc)) from exc
