"""Batched output producer: sink records and by-account items, awaited once per batch.

Faust's own producer sends table changelogs; in embedded mode it must send one record per batch
(see :mod:`streams.app`), which would throttle every output to the changelog's pace. Output topics
are never read back to their end offset, so they go through this separately batched producer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import mode
from aiokafka import AIOKafkaProducer

__all__ = ["OutputProducer"]


class OutputProducer(mode.Service):
    """An aiokafka producer started and stopped with the faust app."""

    def __init__(self, bootstrap: str, **kwargs: object) -> None:
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
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
        """Produce every record and wait until the broker has them all (at-least-once)."""
        if not sends:
            return
        if self._producer is None:
            await self.maybe_start()
        assert self._producer is not None
        futures = [await self._producer.send(topic, value, key=key or None) for topic, key, value in sends]
        await asyncio.gather(*futures)
