"""Consumer-group lag from committed offsets and fetch high-water marks on the embedded broker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from alerts.lag import LagProbe

pytestmark = pytest.mark.integration


def test_lag_per_topic_counts_uncommitted_messages(
    kafka_bootstrap: str, topic_factory: Callable[..., str], group_id: str
) -> None:
    topic = topic_factory(partitions=2, prefix="lag")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=50)
    for i in range(30):
        # Batched sends: the broker's ListOffsets would report far less than 30 here.
        producer.send(topic, key=str(i % 2).encode(), value=b"x", partition=i % 2)
    producer.flush()
    producer.close()
    committer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group_id, enable_auto_commit=False)
    committer.commit(
        {
            TopicPartition(topic, 0): OffsetAndMetadata(10, "", -1),
            TopicPartition(topic, 1): OffsetAndMetadata(3, "", -1),
        }
    )
    committer.close()

    probe = LagProbe(kafka_bootstrap, [group_id], embedded_broker=True)
    try:
        assert probe.measure() == {(group_id, topic): (15 - 10) + (15 - 3)}
        # A second measurement must not reuse the first one's high-water marks.
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
        for _ in range(4):
            producer.send(topic, value=b"y", partition=0)
        producer.flush()
        producer.close()
        assert probe.measure() == {(group_id, topic): (19 - 10) + (15 - 3)}
    finally:
        probe.close()


def test_a_partition_never_committed_counts_from_the_start(
    kafka_bootstrap: str, topic_factory: Callable[..., str], group_id: str
) -> None:
    # A worker frozen before its first commit on partition 1 (the consumer-lag alert test hit it):
    # that backlog must show, not vanish because the partition has no committed offset.
    topic = topic_factory(partitions=2, prefix="lagnew")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=50)
    for i in range(20):
        producer.send(topic, value=b"x", partition=i % 2)
    producer.flush()
    producer.close()
    committer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group_id, enable_auto_commit=False)
    committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(4, "", -1)})
    committer.close()
    probe = LagProbe(kafka_bootstrap, [group_id], embedded_broker=True)
    try:
        assert probe.measure() == {(group_id, topic): (10 - 4) + 10}
    finally:
        probe.close()
