"""``touchstream topics``: create the Kafka topics with ``TOUCHSTREAM_PARTITIONS`` partitions (idempotent)."""

from __future__ import annotations

from kafka.errors import KafkaError
from rich.console import Console

from cli import running
from schemas.settings import Settings
from streams.admin import ensure_topics
from streams.errors import TopicSetupError

__all__ = ["topics"]


def topics() -> None:
    """Create missing topics on TOUCHSTREAM_KAFKA_BOOTSTRAP (else the running stack's broker)."""
    settings = Settings()
    try:
        bootstrap = running.kafka_bootstrap(settings)
    except running.NoStackError as exc:
        running.fail(str(exc))
    if bootstrap is None:
        running.fail("no running stack: start `touchstream up` or set TOUCHSTREAM_KAFKA_BOOTSTRAP")
    try:
        created = ensure_topics(bootstrap, settings.partitions, deadline_s=60)
    except TopicSetupError as exc:
        running.fail(str(exc), 1)
    except KafkaError as exc:
        running.fail(f"broker {bootstrap} unreachable: {exc}", 1)
    Console().print(f"created {len(created)} topic(s)" + (f": {', '.join(created)}" if created else ""))
