"""``touchstream monitor``: the scheduled alert monitor (velocity, intake, lag) with its metrics."""

from __future__ import annotations

import logging
import signal
import threading
import types
from datetime import UTC, datetime
from typing import Annotated

import httpx
import typer
from clickhouse_driver import Client

from alerts.errors import AlertError
from alerts.lag import LagProbe
from alerts.metrics import MonitorMetrics
from alerts.monitor import Monitor
from alerts.notifiers.base import Dispatcher, Notifier
from alerts.notifiers.clickhouse import ClickHouseNotifier
from alerts.notifiers.log import LogNotifier
from alerts.notifiers.slack import SlackNotifier
from alerts.notifiers.webhook import WebhookNotifier
from alerts.rules import load_rules
from cli import running
from schemas.settings import Settings
from sinks.client import connect

__all__ = ["build_notifiers", "monitor"]

log = logging.getLogger("touchstream.monitor")


def build_notifiers(settings: Settings, client: Client, database: str, http: httpx.Client) -> list[Notifier]:
    notifiers: list[Notifier] = [LogNotifier(), ClickHouseNotifier(client, database)]
    if settings.alert_webhook is not None:
        notifiers.append(SlackNotifier(settings.alert_webhook.get_secret_value(), http))
    generic = settings.alert_generic_webhook
    if generic is not None:
        notifiers.append(WebhookNotifier(generic.get_secret_value(), http))
    return notifiers


def monitor(
    once: Annotated[bool, typer.Option(help="evaluate once, print what changed, and exit")] = False,
) -> None:
    """Evaluate alert rules every TOUCHSTREAM_ALERT_INTERVAL_S and deliver state changes."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        rules = load_rules(settings.alert_rules)
    except AlertError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    try:
        target = running.clickhouse(settings)
        bootstrap = running.kafka_bootstrap(settings)
    except running.NoStackError as exc:
        running.fail(str(exc))
    client = connect(target.url, database=target.database)
    stop = threading.Event()

    def _on_signal(signum: int, frame: types.FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    metrics = MonitorMetrics()
    if settings.metrics_port:
        metrics.serve(settings.metrics_port, settings.metrics_host)
    probe = None
    if bootstrap:
        probe = LagProbe(bootstrap, rules.lag.groups, embedded_broker=settings.embedded_broker)
    with httpx.Client() as http:
        mon = Monitor(
            client,
            target.database,
            rules,
            Dispatcher(build_notifiers(settings, client, target.database, http)),
            metrics,
            probe,
        )
        try:
            log.info("resumed %d firing alert(s)", mon.restore())
        except AlertError as exc:
            log.warning("could not read previous alert state: %s", exc)
        try:
            while True:
                for alert in mon.tick(datetime.now(UTC)):
                    if once:
                        typer.echo(alert.message)
                if once or stop.wait(settings.alert_interval_s):
                    break
        finally:
            if probe is not None:
                probe.close()
