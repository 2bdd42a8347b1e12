"""Produce contract events to Kafka and answer only once the broker acknowledged all of them.

aiokafka, not kafka-python, on the hot path (measured in docs/collector.md): kafka-python builds
records and compresses in pure Python on a sender thread that fights the event loop for the GIL,
and each record carries its own future and callbacks; that was ~60% of a worker's CPU. Here records
go into aiokafka's C record-batch builders on the event loop itself, grouped per partition across
concurrent requests ("group commit"): while one batch per partition waits for the broker, the next
one fills, and a request awaits one future per partition it touched, not one per record. Keys hash
with Kafka's murmur2 partitioner, so a visitor's events keep their partition and order.

After a failure the broker is treated as down: the client is dropped (its idempotence state with
it) and each request first probes the broker with a TCP connect, so clients get their 503 at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any, Literal

from aiokafka import AIOKafkaProducer, codec
from aiokafka.errors import KafkaError, KafkaTimeoutError, UnknownError, UnsupportedVersionError

from collector.errors import BrokerUnavailableError
from collector.partitioning import partition_index
from schemas import topics
from schemas.errors import ConfigError

__all__ = ["Compression", "EventProducer", "Record"]

log = logging.getLogger(__name__)

Record = tuple[bytes, bytes]  # (key, value)
Compression = Literal["gzip", "lz4", "zstd", "snappy", "none"]
_NO_IDEMPOTENCE: set[str] = set()  # bootstraps whose broker refused a producer id, per process
_CODECS = {"gzip": codec.has_gzip, "lz4": codec.has_lz4, "zstd": codec.has_zstd, "snappy": codec.has_snappy}
_PARTITIONS_TTL_S = 30.0  # re-read the partition count now and then (topics can grow)


class _Slot:
    """One record batch being filled for one partition, and the future its requests wait on."""

    __slots__ = ("acked", "builder", "timer")

    def __init__(self, builder: Any, loop: asyncio.AbstractEventLoop, timeout_s: float) -> None:
        self.builder = builder
        self.acked: asyncio.Future[None] = loop.create_future()
        # One deadline per batch instead of a wait_for per request (that showed in pixel profiles).
        self.timer = loop.call_later(timeout_s, self.expire)

    def expire(self) -> None:
        if not self.acked.done():
            self.acked.set_exception(KafkaTimeoutError())

    def settle(self, delivery: asyncio.Future[Any]) -> None:
        self.timer.cancel()
        if self.acked.done():
            return
        exc = None if delivery.cancelled() else delivery.exception()
        if delivery.cancelled() or exc is not None:
            self.acked.set_exception(exc or KafkaError("delivery cancelled"))
        else:
            self.acked.set_result(None)


class EventProducer:
    """One aiokafka producer per collector process (one per partition with ``client_per_partition``):
    acks=all, idempotent, per-partition batches."""

    def __init__(
        self,
        bootstrap: str,
        topic: str = topics.EVENTS,
        *,
        idempotent: bool = True,
        linger_ms: int = 0,
        delivery_timeout_ms: int = 10_000,
        retry_after_s: int = 5,
        compression: Compression = "gzip",
        max_batch_bytes: int = 900_000,
        client_per_partition: bool = False,
    ) -> None:
        if compression != "none" and not _CODECS[compression]():
            raise ConfigError(f"compression {compression} needs its library (lz4/zstd/snappy: cramjam)")
        self.bootstrap = bootstrap
        self.topic = topic
        self.retry_after_s = retry_after_s
        # linger 0: batching comes from the group commit (the next batch fills during a round trip).
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap.split(","),
            "client_id": "touchstream-collector",
            "acks": "all",
            "compression_type": None if compression == "none" else compression,
            "linger_ms": linger_ms,
            "request_timeout_ms": delivery_timeout_ms,  # also aiokafka's batch expiry
            "max_batch_size": max_batch_bytes,
            "max_request_size": max_batch_bytes + 100_000,
        }
        self._idempotent = idempotent
        self._per_partition = client_per_partition
        self._clients: dict[int, asyncio.Task[AIOKafkaProducer]] = {}  # client_per_partition only
        self._wait_s = delivery_timeout_ms / 1000 + 2.0
        self._producer: AIOKafkaProducer | None = None
        self._starting: asyncio.Lock | None = None
        self._partitions: tuple[int, ...] = ()
        self._partitions_at = 0.0
        self._queues: defaultdict[int, deque[_Slot]] = defaultdict(deque)
        self._submitters: dict[int, asyncio.Task[None]] = {}
        self._down_since: float | None = None
        self._unacked: set[asyncio.Future[None]] = set()  # one per batch, for flush()

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

    async def start(self) -> None:
        """Connect eagerly; a broker that is down now is retried on the first request."""
        try:
            if await self.reachable():
                await self._ready()
                return
        except BrokerUnavailableError:
            pass
        self._down_since = time.monotonic()

    async def _ready(self) -> AIOKafkaProducer:
        """The started client with the topic's partitions known (created in the running loop)."""
        producer = self._producer
        if producer is None:
            self._starting = self._starting or asyncio.Lock()
            async with self._starting:
                if self._producer is None:
                    self._producer = await self._start_client()
                    self._partitions_at = 0.0
                producer = self._producer
        if time.monotonic() - self._partitions_at > _PARTITIONS_TTL_S:
            try:
                parts = await asyncio.wait_for(producer.partitions_for(self.topic), self._wait_s)
            except (KafkaError, TimeoutError) as exc:
                raise BrokerUnavailableError(type(exc).__name__, self.retry_after_s) from exc
            self._partitions = tuple(sorted(parts))
            self._partitions_at = time.monotonic()
        return producer

    async def _start_client(self) -> AIOKafkaProducer:
        idempotent = self._idempotent and self.bootstrap not in _NO_IDEMPOTENCE
        client = AIOKafkaProducer(**self._config, enable_idempotence=idempotent)
        try:
            await asyncio.wait_for(client.start(), self._wait_s)
        except (UnknownError, UnsupportedVersionError) as exc:
            await _quietly_stop(client)
            if not idempotent:
                raise BrokerUnavailableError(type(exc).__name__, self.retry_after_s) from exc
            # Tansu (the embedded broker) answers aiokafka's InitProducerId v0 with an error.
            # Event ids are the idempotency key downstream, so a duplicate from a retry is
            # harmless; acks=all still guards against loss.
            _NO_IDEMPOTENCE.add(self.bootstrap)
            log.warning("broker %s refused a producer id: producing without idempotence", self.bootstrap)
            return await self._start_client()
        except (KafkaError, TimeoutError) as exc:
            await _quietly_stop(client)
            raise BrokerUnavailableError(type(exc).__name__, self.retry_after_s) from exc
        return client

    async def submit(self, records: Sequence[Record]) -> asyncio.Future[Any]:
        """Hand ``records`` to the batches being filled; the returned future resolves on the ack.

        Raises BrokerUnavailableError at once when the broker is known to be down.
        """
        if self._down_since is not None and not await self.reachable(0.5):
            raise BrokerUnavailableError("broker not reachable", self.retry_after_s)
        try:
            producer = await self._ready()
        except BrokerUnavailableError:
            self._mark_down()
            raise
        parts, n = self._partitions, len(self._partitions)
        touched: set[asyncio.Future[None]] = set()
        # No await from here to the end of the loop: appends of concurrent requests never interleave.
        for key, value in records:
            partition = parts[partition_index(key, n)]
            queue = self._queues[partition]
            if not queue or queue[-1].builder.append(timestamp=None, key=key, value=value) is None:
                slot = _Slot(producer.create_batch(), asyncio.get_running_loop(), self._wait_s)
                queue.append(slot)
                self._unacked.add(slot.acked)
                slot.acked.add_done_callback(self._unacked.discard)
                if slot.builder.append(timestamp=None, key=key, value=value) is None:
                    raise BrokerUnavailableError("record larger than a batch", self.retry_after_s)
            touched.add(queue[-1].acked)
            if partition not in self._submitters:
                self._submitters[partition] = asyncio.create_task(self._submit(producer, partition))
        if len(touched) == 1:  # the pixel, a beacon: skip gather's extra future and callbacks
            return touched.pop()
        return asyncio.gather(*touched)

    async def _submit(self, producer: AIOKafkaProducer, partition: int) -> None:
        """Feed one partition's batches to aiokafka, one at a time: send_batch returns when the
        previous batch of the partition left for the broker, and the next slot filled meanwhile."""
        queue, submitters = self._queues[partition], self._submitters
        try:
            while queue:
                slot = queue.popleft()
                try:
                    client = await self._client_for(producer, partition)
                    delivery = await client.send_batch(slot.builder, self.topic, partition=partition)
                except (KafkaError, BrokerUnavailableError) as exc:
                    slot.timer.cancel()
                    slot.acked.set_exception(exc)
                    continue
                delivery.add_done_callback(slot.settle)
        finally:
            submitters.pop(partition, None)

    async def _client_for(self, producer: AIOKafkaProducer, partition: int) -> AIOKafkaProducer:
        """The client that sends ``partition``'s batches. One per partition on the embedded broker:
        Tansu handles one request per connection at a time and the partitions of a produce request
        one after another, each two sequential writes to its store; separate connections let the
        partitions' writes share the store's group commits instead of queueing behind each other."""
        if not self._per_partition:
            return producer
        starting = self._clients.get(partition)
        if starting is None:  # a task, so a submitter left over from before _mark_down shares it
            starting = self._clients[partition] = asyncio.create_task(self._start_client())
        if starting.done():  # every batch after the first: no future to await
            return starting.result()
        return await asyncio.shield(starting)

    async def send(self, records: Sequence[Record]) -> None:
        """Produce ``records`` and return once all are acknowledged; else raise BrokerUnavailableError."""
        if not records:
            return
        acked = await self.submit(records)
        try:
            # Shielded: the futures are shared with concurrent requests; a client that hangs up must
            # not cancel them. Each batch carries its own deadline (_Slot.timer).
            await asyncio.shield(acked)
        except (KafkaError, TimeoutError) as exc:
            acked.add_done_callback(_consume)
            self._mark_down()
            raise BrokerUnavailableError(type(exc).__name__, self.retry_after_s) from exc
        self._down_since = None

    async def send_nowait(self, records: Sequence[Record]) -> asyncio.Future[Any]:
        """Queue ``records`` without waiting for the ack (``TOUCHSTREAM_PIXEL_ACK=async``).

        A failed delivery still marks the broker down, so the next requests get their 503; the
        returned future tells the caller about this delivery (count it, it cannot be answered).
        """
        acked = await self.submit(records)
        acked.add_done_callback(self._outcome)
        return acked

    def _outcome(self, acked: asyncio.Future[Any]) -> None:
        if acked.cancelled() or acked.exception() is not None:
            self._mark_down()
        else:
            self._down_since = None

    def _mark_down(self) -> None:
        """Drop the client: pending batches fail, the next request after recovery starts afresh."""
        self._down_since = self._down_since or time.monotonic()
        producer, self._producer = self._producer, None
        clients, self._clients = self._clients, {}
        queues, self._queues = self._queues, defaultdict(deque)
        self._submitters = {}  # running ones finish on their own (old) queues
        for queue in queues.values():
            for slot in queue:
                if not slot.acked.done():
                    slot.timer.cancel()
                    slot.acked.set_exception(KafkaError("broker down"))
                    slot.acked.add_done_callback(_consume)
        for client in [producer, *clients.values()]:
            if client is not None:
                task = asyncio.get_running_loop().create_task(_quietly_stop(client))
                task.add_done_callback(_consume)

    async def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every batch handed over so far is acknowledged or failed."""
        if self._unacked:
            await asyncio.wait(list(self._unacked), timeout=timeout_s)

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        if getattr(producer, "_loop", None) is not asyncio.get_running_loop():
            return  # its loop is gone (a server thread ended): nothing can be flushed from here
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._submitters.values()), 5)
        clients, self._clients = self._clients, {}
        for client in [producer, *clients.values()]:
            await _quietly_stop(client)


async def _quietly_stop(client: AIOKafkaProducer | asyncio.Task[AIOKafkaProducer]) -> None:
    with contextlib.suppress(KafkaError, TimeoutError, BrokerUnavailableError, asyncio.CancelledError):
        producer = (
            await asyncio.wait_for(asyncio.shield(client), 5) if isinstance(client, asyncio.Task) else client
        )
        await asyncio.wait_for(producer.stop(), 5)


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve a result nobody awaits, so asyncio does not log 'exception never retrieved'."""
    if not future.cancelled():
        future.exception()
