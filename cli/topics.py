"""``touchstream topics``: create the Kafka topics with ``TOUCHSTREAM_PARTITIONS`` partitions (idempotent)."""

from __future__ import annotations

import typer
from rich.console import Console

from schemas.settings import Settings
from streams.admin import ensure_topics

__all__ = ["topics"]


def topics() -> None:
    """Create missing topics on TOUCHSTREAM_KAFKA_BOOTSTRAP; existing ones are left as they are."""
    settings = Settings()
    if settings.kafka_bootstrap is None:
        Console(stderr=True).print(
            "TOUCHSTREAM_KAFKA_BOOTSTRAP is not set (the embedded broker is set up by `up`)"
        )
        raise typer.Exit(2)
    created = ensure_topics(settings.kafka_bootstrap, settings.partitions)
    Console().print(f"created {len(created)} topic(s)" + (f": {', '.join(created)}" if created else ""))
