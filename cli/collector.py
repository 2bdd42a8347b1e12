"""``touchstream collector``: serve the collector under uvicorn (httptools + uvloop), N worker processes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from schemas.errors import ConfigError
from schemas.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["asgi_app", "collector"]


def asgi_app() -> Starlette:
    """uvicorn factory: runs once in each worker process, so each gets its own Kafka producer."""
    from prometheus_client import start_http_server

    from compat.app import create_app

    settings = Settings()
    app = create_app(settings)
    if settings.metrics_port:
        try:  # with several workers the first one to bind serves its own figures here
            start_http_server(
                settings.metrics_port, "127.0.0.1", registry=app.state.collector.metrics.registry
            )
        except OSError:
            pass  # another worker holds the port; every worker still answers /metrics itself
    return app


def collector() -> None:
    """Serve pixel, JS tracker and webhooks on TOUCHSTREAM_COLLECTOR_HOST:PORT into Kafka."""
    import uvicorn  # here, not at import: every other command starts faster

    settings = Settings()
    if settings.kafka_bootstrap is None:
        raise ConfigError(
            "set TOUCHSTREAM_KAFKA_BOOTSTRAP (`touchstream up` does it for the embedded broker)"
        )
    if not settings.write_key_values() or settings.write_key_values() == ["dev-write-key"]:
        typer.echo("warning: using the development write key; set TOUCHSTREAM_WRITE_KEYS", err=True)
    uvicorn.run(
        "cli.collector:asgi_app",
        factory=True,
        host=settings.collector_host,
        port=settings.collector_port,
        workers=settings.collector_workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # X-Forwarded-For is resolved by collector.edge against trusted proxies
    )
