"""Produce contract events to Kafka and answer only once the broker acknowledged all of them.

kafka-python does the I/O on its own sender thread; its per-record futures complete there, so a
request waits on one asyncio future that the last acknowledgement resolves through
``call_soon_threadsafe`` - the event loop never blocks on the broker. After a failure the broker is
treated as down and each request first probes it with a cheap TCP connect, so clients get their
503 at once instead of after a full delivery timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from collector.errors import BrokerUnavailableError
from schemas import topics

__all__ = ["EventProducer", "Record"]

Record = tuple[bytes, bytes]  # (key, value)


class _Countdown:
    """Resolves an asyncio future when ``n`` acks arrived, or at the first error (any thread)."""

    __slots__ = ("_left", "_lock", "_loop", "future")

    def __init__(self, loop: asyncio.AbstractEventLoop, n: int) -> None:
        self._loop = loop
        self._left = n
        self._lock = threading.Lock()
        self.future: asyncio.Future[None] = loop.create_future()

    def ack(self, _metadata: object) -> None:
        with self._lock:
            self._left -= 1
            done = self._left == 0
        if done:
            self._loop.call_soon_threadsafe(self._resolve, None)

    def fail(self, exc: BaseException) -> None:
        self._loop.call_soon_threadsafe(self._resolve, exc)

    def _resolve(self, exc: BaseException | None) -> None:
        if self.future.done():
            return
        if exc is None:
            self.future.set_result(None)
        else:
            self.future.set_exception(exc)


class EventProducer:
    """One kafka-python producer per collector process: acks=all, gzip, short linger, idempotent."""

    def __init__(
        self,
        bootstrap: str,
        topic: str = topics.EVENTS,
        *,
        idempotent: bool = True,
        linger_ms: int = 5,
        delivery_timeout_ms: int = 10_000,
        retry_after_s: int = 5,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.retry_after_s = retry_after_s
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap.split(","),
            "client_id": "touchstream-collector",
            "acks": "all",
            "compression_type": "gzip",
            "linger_ms": linger_ms,
            "enable_idempotence": idempotent,
            "delivery_timeout_ms": delivery_timeout_ms,
            "request_timeout_ms": max(1000, delivery_timeout_ms - linger_ms - 500),
            "max_block_ms": 2000,
        }
        self._wait_s = delivery_timeout_ms / 1000 + 2.0
        self._producer: KafkaProducer | None = None
        self._ready = False  # metadata for ``topic`` known: sends no longer block
        self._down_since: float | None = None
        # One thread: sends that may block (metadata, construction) stay off the loop and in order.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ts-produce")

    async def reachable(self, timeout_s: float = 1.0) -> bool:
        """True if some bootstrap broker accepts a TCP connection (cheap readiness probe)."""
        for server in self.bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout_s)
            except (OSError, TimeoutError, ValueError):
                continue
            writer.close()
            return True
        return False

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def _prepare(self) -> None:
        """Construct the client and fetch the topic's metadata (blocking; runs on the executor)."""
        try:
            if self._producer is None:
                self._producer = KafkaProducer(**self._config)
            self._producer.partitions_for(self.topic)
        except KafkaError as exc:
            raise BrokerUnavailableError(type(exc).__name__, self.retry_after_s) from exc
        self._ready = True

    async def start(self) -> None:
        """Connect eagerly; a broker that is down now is retried on the first request."""
        try:
            if await self.reachable():
                await asyncio.get_running_loop().run_in_executor(self._executor, self._prepare)
        except BrokerUnavailableError:
            self._down_since = time.monotonic()

    def _send_all(self, records: Sequence[Record], countdown: _Countdown) -> None:
        assert self._producer is not None
        send = self._producer.send
        for key, value in records:
            fut = send(self.topic, key=key, value=value)
            fut.add_callback(countdown.ack)
            fut.add_errback(countdown.fail)

    async def send(self, records: Sequence[Record]) -> None:
        """Produce ``records`` and return once all are acknowledged; else raise BrokerUnavailableError."""
        if not records:
            return
        loop = asyncio.get_running_loop()
        if self._down_since is not None and not await self.reachable(0.5):
            raise BrokerUnavailableError("broker not reachable", self.retry_after_s)
        countdown = _Countdown(loop, len(records))
        try:
            if not self._ready:
                await loop.run_in_executor(self._executor, self._prepare)
            if len(records) <= 4:
                # Small sends (the pixel) go inline: with metadata cached, send() only appends to
                # the accumulator, cheaper than an executor hop.
                self._send_all(records, countdown)
            else:
                await loop.run_in_executor(self._executor, self._send_all, records, countdown)
            await asyncio.wait_for(asyncio.shield(countdown.future), self._wait_s)
        except (KafkaError, TimeoutError) as exc:
            self._down_since = self._down_since or time.monotonic()
            raise BrokerUnavailableError(type(exc).__name__, self.retry_after_s) from exc
        except BrokerUnavailableError:
            self._down_since = self._down_since or time.monotonic()
            raise
        self._down_since = None

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, producer.close, 5)
        self._executor.shutdown(wait=False)
