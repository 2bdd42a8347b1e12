"""EventProducer on the embedded broker: shared batches, Kafka's partitions, cancellation."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka.partitioner import DefaultPartitioner
from kafka import KafkaConsumer, TopicPartition

from collector import EventProducer

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def _read(bootstrap: str, topic: str, expected: int) -> list[tuple[int, bytes, bytes]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[tuple[int, bytes, bytes]] = []
        deadline = time.monotonic() + 15
        while len(out) < expected and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=200).items():
                out.extend((tp.partition, r.key, r.value) for r in records)
        return out
    finally:
        consumer.close()


@pytest.mark.parametrize("per_partition", [False, True], ids=["one client", "client per partition"])
async def test_concurrent_sends_land_on_the_default_partitioners_partition(
    kafka_bootstrap, topic_factory, per_partition: bool
) -> None:
    topic = topic_factory(partitions=4, prefix="producer")
    producer = EventProducer(kafka_bootstrap, topic, client_per_partition=per_partition)
    try:
        requests = [
            [(f"visitor-{r}-{i % 7}".encode(), f"{r}:{i}".encode()) for i in range(50)] for r in range(20)
        ]
        await asyncio.gather(*(producer.send(records) for records in requests))
    finally:
        await producer.close()
    got = _read(kafka_bootstrap, topic, 1000)
    assert sorted(v for _, _, v in got) == sorted(v for records in requests for _, v in records)
    parts = [0, 1, 2, 3]
    assert all(p == DefaultPartitioner()(k, parts, parts) for p, k, _ in got)
    if per_partition:
        assert not producer._clients  # close() stopped every partition's client too
    # one visitor's events keep their order within a request
    for r in range(3):
        mine = [v for _, k, v in got if k == f"visitor-{r}-0".encode()]
        assert mine == sorted(mine, key=lambda v: int(v.split(b":")[1]))


async def test_a_cancelled_request_does_not_fail_the_batch_it_shares(kafka_bootstrap, topic_factory) -> None:
    topic = topic_factory(partitions=1, prefix="producer")
    producer = EventProducer(kafka_bootstrap, topic)
    try:
        await producer.send([(b"warm", b"0")])
        doomed = asyncio.ensure_future(producer.send([(b"k", b"1")]))
        kept = asyncio.ensure_future(producer.send([(b"k", b"2")]))
        await asyncio.sleep(0)
        doomed.cancel()
        await kept  # raises if the shared batch future was cancelled with the first request
    finally:
        await producer.close()
    assert sorted(v for _, _, v in _read(kafka_bootstrap, topic, 3)) == [b"0", b"1", b"2"]
