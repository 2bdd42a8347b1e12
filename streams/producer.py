"""Batched output producer: sink records and by-account items, awaited once per batch.

Faust's own producer sends table changelogs; in embedded mode it must send one record per batch
(see :mod:`streams.app`), which would throttle every output to the changelog's pace. Output topics
are never read back to their end offset, so they go through this separately batched producer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import mode
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

__all__ = ["RETRY_FOR_S", "OutputProducer"]

RETRY_FOR_S = 120.0  # how long a batch is resent on retriable errors before the worker gives up
log = logging.getLogger(__name__)


class OutputProducer(mode.Service):
    """An aiokafka producer started and stopped with the faust app."""

    def __init__(self, bootstrap: str, **kwargs: object) -> None:
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._partitioner = DefaultPartitioner()
        super().__init__(**kwargs)  # type: ignore[arg-type]

    async def on_start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024
        )
        await self._producer.start()

    async def on_stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send_all(self, sends: Sequence[tuple[str, bytes, bytes]]) -> None:
        """Produce every record and wait until the broker has them all (at-least-once).

        A retriable broker error (a leader moved, the broker restarting) resends the whole batch after a
        backoff, for up to ``RETRY_FOR_S``: outputs are idempotent downstream (event ids, revision
        numbers), so a record that had already landed only lands again.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_FOR_S
        delay = 0.2
        while True:
            try:
                await self._send_once(sends)
                return
            except KafkaError as exc:
                if not exc.retriable or loop.time() + delay > deadline:
                    raise
                log.warning("output produce failed (%r); resending the batch in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _send_once(self, sends: Sequence[tuple[str, bytes, bytes]]) -> None:
        """One attempt at :meth:`send_all`.

        Records are packed into one batch per partition by hand: ``producer.send`` costs a coroutine,
        a future and a debug-log check per record, ~15 % of the event loop at ~1.3 records an event.
        Partitions come from aiokafka's default (murmur2) partitioner, as ``send`` would pick them,
        so keyed records land where every other Kafka client puts the same key.
        """
        if not sends:
            return
        if self._producer is None:
            await self.maybe_start()
        assert self._producer is not None
        producer = self._producer
        partitions: dict[str, list[int]] = {}
        batches: dict[tuple[str, int], BatchBuilder] = {}
        futures: list[asyncio.Future[object]] = []
        for topic, key, value in sends:
            known = partitions.get(topic)
            if known is None:
                known = partitions[topic] = sorted(await producer.partitions_for(topic))
            partition = self._partitioner(key or None, known, known)
            batch = batches.get((topic, partition))
            if batch is None:
                batch = batches[(topic, partition)] = producer.create_batch()
            if batch.append(key=key or None, value=value, timestamp=None) is not None:
                continue
            futures.append(await producer.send_batch(batch, topic, partition=partition))
            batch = batches[(topic, partition)] = producer.create_batch()
            if batch.append(key=key or None, value=value, timestamp=None) is None:
                # Bigger than a whole batch: let send() apply its own size checks.
                futures.append(await producer.send(topic, value, key=key or None, partition=partition))
        for (topic, partition), batch in batches.items():
            if batch.record_count():
                futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)
