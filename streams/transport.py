"""faust's Kafka transport adapted to the embedded broker: true changelog ends, short fetch waits.

Two Tansu behaviours, both measured (see shared/embedded-kafka.md):

* ListOffsets(LATEST) answers the base offset of a partition's last record batch + 1. faust reads
  that as the changelog end when it recovers a table, so with batched writes it stopped short (or
  refused to start: "persisted offset is higher than the highwater"). The usual workaround,
  ``producer_max_batch_size=1``, made every changelog record its own round trip. Instead
  :meth:`_ConsumerThread._highwaters` fetches the last batch and takes the high-water mark from the
  fetch reply, which is right.
* An empty fetch is held for the full wait instead of answered when a record arrives, and faust
  hard-codes ``fetch_max_wait_ms=1500`` (~0.5 s measured per hop through ``by-account``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import ClassVar

import aiokafka
from aiokafka.structs import TopicPartition
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, ConsumerT

__all__ = ["FETCH_MAX_WAIT_MS", "EmbeddedBrokerTransport", "true_ends"]

FETCH_MAX_WAIT_MS = 50


async def true_ends(
    bootstrap: list[str], reported: Mapping[TP, int], timeout_s: float = 10.0
) -> dict[TP, int]:
    """The real end offset of each partition: read its last batch, keep the fetch's high-water mark."""
    ends = dict(reported)
    todo = [tp for tp, end in reported.items() if end > 0]
    if not todo:
        return ends
    consumer = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    await consumer.start()
    try:
        # aiokafka asserts its own TopicPartition type (faust's TP is a look-alike namedtuple).
        parts = {TopicPartition(tp.topic, tp.partition): tp for tp in todo}
        consumer.assign(list(parts))
        for part, tp in parts.items():
            consumer.seek(part, reported[tp] - 1)  # the last batch starts here
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        pending = set(parts)
        while pending and loop.time() < deadline:
            await consumer.getmany(*pending, timeout_ms=200)
            for part in list(pending):
                high = consumer.highwater(part)
                if high is not None:
                    ends[parts[part]] = max(high, reported[parts[part]])
                    pending.discard(part)
    finally:
        await consumer.stop()
    return ends


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    _bootstrap: list[str]

    def _create_worker_consumer(self, transport: driver.Transport) -> aiokafka.AIOKafkaConsumer:
        self._bootstrap = driver.server_list(transport.url, transport.default_port)
        consumer: aiokafka.AIOKafkaConsumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher; no public setter exists.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # noqa: SLF001
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        reported = await super()._highwaters(partitions)
        if self.consumer.in_transaction:
            return reported
        return await true_ends(self._bootstrap, reported)


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class EmbeddedBrokerTransport(driver.Transport):
    """The aiokafka transport with :class:`_ConsumerThread`'s two corrections."""

    Consumer: ClassVar[type[ConsumerT]] = _Consumer
