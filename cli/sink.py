"""``touchstream sink``: land the sink topics in ClickHouse until SIGTERM (then flush, commit, close)."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import typer
from prometheus_client import start_http_server

from schemas.errors import ConfigError
from schemas.settings import Settings
from sinks.client import connect
from sinks.consumer import Sink, SinkConfig
from sinks.migrate import apply_retention, ensure_analyst_user

__all__ = ["sink"]

log = logging.getLogger("touchstream.sink")


def sink() -> None:
    """Consume the sink topics (touchpoints, identities, conversions, credits, ...) into ClickHouse."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    if settings.kafka_bootstrap is None or settings.clickhouse_url is None:
        raise ConfigError("touchstream sink needs TOUCHSTREAM_KAFKA_BOOTSTRAP and TOUCHSTREAM_CLICKHOUSE_URL")
    admin = connect(settings.clickhouse_url)
    log.info(
        "touchpoints retention: %s",
        apply_retention(admin, settings.clickhouse_database, settings.touchpoints_ttl_days),
    )
    if settings.analyst_password is not None:
        created = ensure_analyst_user(
            admin, settings.clickhouse_database, "analyst", settings.analyst_password.get_secret_value()
        )
        log.info("analyst user %s", "ensured" if created else "managed by the server's users.xml")
    admin.disconnect()
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr="127.0.0.1")
    worker = Sink(
        SinkConfig(
            bootstrap=settings.kafka_bootstrap,
            clickhouse_url=settings.clickhouse_url,
            database=settings.clickhouse_database,
            batch_rows=settings.sink_batch_rows,
            batch_seconds=settings.sink_batch_seconds,
            embedded_broker=settings.embedded_broker,
        )
    )

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: flushing and stopping", signum)
        worker.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.run()
    raise typer.Exit(0)
