"""Create Touchstream's topics up front, with the partition count the stream topology needs.

The embedded broker auto-creates topics with 4 partitions, and faust refuses tables whose source and
changelog topics differ in partitions, so every topic is created explicitly before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from schemas import topics

__all__ = ["ensure_topics"]


def ensure_topics(bootstrap: str, partitions: int, names: Iterable[str] = topics.ALL_TOPICS) -> list[str]:
    """Create the missing topics; returns the names created. Existing topics are left as they are."""
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
