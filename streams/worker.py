"""Run one stream worker process: create topics, build the faust app, serve metrics, block."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import faust
from prometheus_client import start_http_server

from embedded.kafka import free_port
from streams.admin import ensure_topics
from streams.agents import changelog_topics, register
from streams.app import create_app
from streams.config import APP_ID, StreamConfig
from streams.readiness import watch_recovery

__all__ = ["WorkerOptions", "build_app", "run_worker"]


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    bootstrap: str
    home: Path
    partitions: int = 4
    embedded_broker: bool = False
    store: str = "rocksdb"  # or "memory"
    replica: int = 0
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    loglevel: str = "info"
    batch: int = 2000
    within_s: float = 0.2

    def app_id(self, config: StreamConfig) -> str:
        suffix = config.topics.events.removeprefix("touchstream.events")
        return APP_ID + suffix


def build_app(config: StreamConfig, opts: WorkerOptions) -> faust.App:
    """The configured app with both stages registered; topics (changelogs too) exist afterwards."""
    app_id = opts.app_id(config)
    ensure_topics(opts.bootstrap, opts.partitions, [*config.topics.all(), *changelog_topics(app_id)])
    datadir = opts.home / "streams" / f"{app_id}-{opts.replica}"
    datadir.mkdir(parents=True, exist_ok=True)
    app = create_app(
        app_id,
        opts.bootstrap,
        datadir,
        partitions=opts.partitions,
        web_port=free_port(),
        store=f"{opts.store}://",
        embedded_broker=opts.embedded_broker,
    )
    register(app, config, opts.bootstrap, opts.partitions, batch=opts.batch, within=opts.within_s)
    return app


class _Worker(faust.Worker):
    """faust's worker without its terminal spinner: at level WARNING and above the spinner sets the
    root logger to DEBUG to spin on every record, so aiokafka built a debug record per message sent
    (~7 % of the event loop in py-spy). Workers log to files, where a spinner is noise anyway."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        super().on_setup_root_logger(logger, level)


def run_worker(config: StreamConfig, opts: WorkerOptions) -> None:
    """Blocks until SIGTERM / SIGINT; faust's worker handles the signals and leaves the group cleanly."""
    app = build_app(config, opts)
    if opts.metrics_port is not None:
        start_http_server(opts.metrics_port, addr=opts.metrics_host)
    watch_recovery(app)
    worker = _Worker(app, loglevel=opts.loglevel)
    worker.execute_from_commandline()
