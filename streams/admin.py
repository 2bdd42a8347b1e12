"""Create Touchstream's topics up front, with the partition count the stream topology needs.

The embedded broker auto-creates topics with 4 partitions, and faust refuses tables whose source and
changelog topics differ in partitions, so every topic is created explicitly before anything runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaTimeoutError, RequestTimedOutError, TopicAlreadyExistsError

from schemas import topics
from streams.errors import TopicSetupError

__all__ = ["ensure_topics"]

log = logging.getLogger(__name__)


def ensure_topics(
    bootstrap: str,
    partitions: int,
    names: Iterable[str] = topics.ALL_TOPICS,
    *,
    deadline_s: float = 180.0,
) -> list[str]:
    """Create the missing topics; returns the names created. Existing topics are left as they are.

    A broker on a durable store creates each topic's log in the store, which on a loaded machine can
    take longer than one admin request's 30 s: a timed-out attempt (kafka-python also times out, after
    30 s, when no broker answers at all) is retried — it only creates what is still missing — until
    ``deadline_s``, then :class:`TopicSetupError` says what to check.
    """
    wanted = list(names)
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return _ensure(bootstrap, partitions, wanted)
        except (KafkaTimeoutError, RequestTimedOutError) as exc:
            waited = time.monotonic() - started
            if waited >= deadline_s:
                raise TopicSetupError(
                    f"the Kafka broker at {bootstrap} did not create Touchstream's topics within "
                    f"{waited:.0f} s ({attempt} attempts, last: {type(exc).__name__}); check that it is up "
                    "and that its storage is writable and not full"
                ) from exc
            log.warning("creating topics on %s timed out (%s); retrying", bootstrap, type(exc).__name__)
            time.sleep(min(2.0 * attempt, 10.0))


def _ensure(bootstrap: str, partitions: int, names: list[str]) -> list[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="touchstream-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [n for n in names if n not in existing]
        if not wanted:
            return []
        new = [NewTopic(name=n, num_partitions=partitions, replication_factor=1) for n in wanted]
        try:
            admin.create_topics(new)
        except TopicAlreadyExistsError:
            pass  # a concurrent starter won the race; the topics exist, which is all we need
        return wanted
    finally:
        admin.close()
