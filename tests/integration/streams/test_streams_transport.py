"""The embedded-broker transport reads a changelog's true end even when its last batch holds many records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer
from faust.types import TP

from streams.transport import true_ends

pytestmark = pytest.mark.integration


async def _one_batch(bootstrap: str, topic: str, partition: int, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"first", key=b"k", partition=partition)
        batch = producer.create_batch()
        for i in range(n):
            assert batch.append(key=b"k", value=f"v{i}".encode(), timestamp=None) is not None
        await (await producer.send_batch(batch, topic, partition=partition))
    finally:
        await producer.stop()


def test_true_ends_counts_every_record_of_the_last_batch(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=2)
    asyncio.run(_one_batch(kafka_bootstrap, topic, 0, 10))
    # Partition 0: 1 + 10 records, the last 10 in one batch (ListOffsets says 2 on this broker).
    # Partition 1: empty. A reported end of 2 is what faust's recovery would otherwise stop at.
    reported = {TP(topic, 0): 2, TP(topic, 1): 0}
    assert asyncio.run(true_ends([kafka_bootstrap], reported)) == {TP(topic, 0): 11, TP(topic, 1): 0}
