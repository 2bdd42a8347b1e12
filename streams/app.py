"""The faust application object, configured for the broker (Tansu workarounds in embedded mode)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
from faust.types import TransportT

from streams.transport import EmbeddedBrokerTransport

__all__ = ["create_app"]


class _EmbeddedBrokerApp(faust.App):
    """Consumes through :class:`EmbeddedBrokerTransport` (true changelog ends, short fetch waits)."""

    def _new_transport(self) -> TransportT:
        return EmbeddedBrokerTransport(self.conf.broker_consumer, self)


def create_app(
    app_id: str,
    bootstrap: str,
    datadir: Path,
    *,
    partitions: int,
    web_port: int,
    store: str = "rocksdb://",
    embedded_broker: bool = False,
) -> faust.App:
    """A faust app; agents and tables are attached by :func:`streams.agents.register`."""
    extra: dict[str, Any] = {}
    if embedded_broker:
        # Tansu's ListOffsets answers the start of the last record batch + 1; the transport reads
        # true changelog ends instead (streams.transport), so changelog writes may be batched
        # rather than sent one record per request (producer_max_batch_size=1). Linger packs them.
        extra["producer_linger"] = 0.005
    app_class = _EmbeddedBrokerApp if embedded_broker else faust.App
    return app_class(
        app_id,
        broker=";".join(f"kafka://{host.strip()}" for host in bootstrap.split(",")),
        store=store,
        datadir=str(datadir),
        topic_partitions=partitions,
        consumer_auto_offset_reset="earliest",
        # Payloads are bytes we decode ourselves (pydantic / orjson), tables included.
        key_serializer="raw",
        value_serializer="raw",
        # web_enabled=False still binds 0.0.0.0:6066; keep it local on a port of our choosing.
        web_enabled=False,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        web_port=web_port,
        # A member that misses max_poll_interval stalls for good on this broker: keep the default.
        broker_max_poll_interval=300.0,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        # No standbys: on 2 cores they double changelog reads; recovery replays the changelog instead.
        table_standby_replicas=0,
        **extra,
    )
