"""The sink: one aiokafka consumer group over the sink topics, batched into ClickHouse.

Each topic feeds one table and has one pending :class:`~sinks.batcher.Batch`. A batch is written
when it is full or old enough; only after ClickHouse acknowledged it (and its dead letters were
acknowledged by the broker) are its offsets committed. A crash therefore re-reads at most the
unacknowledged batches, and redelivered rows collapse in ReplacingMergeTree / the insert
deduplication token, so analysts never see them twice.

aiokafka rather than kafka-python because it fetches ~3x faster here (C record parsing, measured in
``bench.sink``). A due batch is handed to a background task (the insert itself runs in a worker
thread) while the loop fills the next one, so fetching overlaps inserting. At most one insert per
table is in flight and each commits only after the previous one did, so offsets are committed in
order. While ClickHouse fails, the next due batch waits for the stalled one and the loop stops
calling ``getmany``: nothing more is fetched (memory stays bounded by the stalled batch, the next
one of up to ``2 * batch_rows`` messages, and one prefetched fetch per partition), the stalled batch
is retried with exponential backoff, and the group membership is kept by aiokafka's heartbeat task.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from kafka import KafkaProducer
from kafka.errors import KafkaError as SyncKafkaError
from kafka.structs import TopicPartition

from collector.dead_letter import make_dead_letter, send_dead_letter
from schemas import topics
from schemas.errors import FieldError
from sinks import metrics
from sinks.batcher import Batch, Reject
from sinks.client import connect
from sinks.errors import ClickHouseUnavailableError, SinkError
from sinks.rows import SPECS_BY_TOPIC, TableSpec
from sinks.writer import write_batch

__all__ = ["SINK_GROUP", "Sink", "SinkConfig"]

SINK_GROUP = "touchstream-sink"
_STAGE = "sink"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SinkConfig:
    bootstrap: str
    clickhouse_url: str
    database: str
    group_id: str = SINK_GROUP
    routes: Mapping[str, TableSpec] = field(default_factory=lambda: dict(SPECS_BY_TOPIC))  # topic -> table
    batch_rows: int = 50_000
    batch_seconds: float = 1.0
    embedded_broker: bool = False
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 10.0
    dead_letter_topic: str | None = None  # None = schemas.topics.DEAD_LETTER


class _Revoker(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka's abc is untyped
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.sink.on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("sink assigned %d partitions", len(assigned))
        metrics.READY.set(1)  # joined (a replica beyond the partition count joins with none)


class Sink:
    """Run with :meth:`run` (blocking) until ``stop`` is set; then flushes, commits and closes."""

    def __init__(self, config: SinkConfig) -> None:
        self.config = config
        self.batches = {
            t: Batch(spec, config.batch_rows, config.batch_seconds) for t, spec in config.routes.items()
        }
        self.client = connect(config.clickhouse_url, database=config.database)
        self.next_offset: dict[TopicPartition, int] = {}
        self.stop = threading.Event()
        self.producer = KafkaProducer(bootstrap_servers=config.bootstrap, acks="all", linger_ms=5)
        self.lag: dict[str, int] = {}  # per topic, as exported; refreshed about once a second
        self._last_lag = 0.0
        self._consumer: AIOKafkaConsumer | None = None
        self._lock: asyncio.Lock | None = None  # one flush at a time (main loop vs rebalance)
        self._inflight: dict[str, asyncio.Task[bool]] = {}  # topic -> its batch being written

    # -- main loop ------------------------------------------------------------------------------

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        extra: dict[str, int] = {}
        if self.config.embedded_broker:  # Tansu: a dead member is noticed in 6 s (shared/embedded-kafka.md)
            extra = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 2000}
        self._lock = asyncio.Lock()
        self._consumer = consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.bootstrap,
            group_id=self.config.group_id,
            client_id=f"{self.config.group_id}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            check_crcs=False,  # TCP and the broker already check; ~25% of fetch cost (bench.sink)
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=16 * 1024 * 1024,
            **extra,
        )
        consumer.subscribe(topics=list(self.config.routes), listener=_Revoker(self))
        await consumer.start()
        try:
            while not self.stop.is_set():
                await self.poll_once(consumer)
        finally:
            await self._close(consumer)

    async def poll_once(self, consumer: AIOKafkaConsumer, timeout_ms: int = 200) -> None:
        records = await consumer.getmany(timeout_ms=timeout_ms, max_records=self.config.batch_rows)
        for tp, messages in records.items():
            if messages:
                self.batches[tp.topic].add(tp, messages)
                self.next_offset[tp] = messages[-1].offset + 1
        now = time.monotonic()
        for topic, batch in self.batches.items():
            if batch.due(now):
                await self._hand_off(topic, batch)
        if now - self._last_lag >= 1.0:
            self._update_lag(consumer)
            self._last_lag = now

    # -- writing --------------------------------------------------------------------------------

    async def _hand_off(self, topic: str, batch: Batch) -> None:
        """Write ``batch`` in the background once the topic's previous batch is committed."""
        await self._settle(topic)  # raises what the previous flush raised (dead-letter failure)
        self.batches[topic] = Batch(batch.spec, batch.max_rows, batch.max_age_s)
        self._inflight[topic] = asyncio.create_task(self.flush(batch))

    async def _settle(self, topic: str | None = None) -> None:
        """Wait for the in-flight write of ``topic`` (or of every topic)."""
        names = [topic] if topic is not None else list(self._inflight)
        for name in names:
            task = self._inflight.pop(name, None)
            if task is not None:
                await task

    async def flush(self, batch: Batch, *, retry: bool = True) -> bool:
        """Write, dead-letter and commit one batch; False if it was given up (stop, or ``retry=False``)."""
        assert self._lock is not None  # noqa: S101  # set by _run before any flush
        async with self._lock:
            return await self._flush(batch, retry)

    async def _flush(self, batch: Batch, retry: bool) -> bool:
        if batch.empty:
            return True
        table = batch.spec.table
        started = time.monotonic()
        delay = self.config.backoff_initial_s
        while True:
            try:
                inserted = await asyncio.to_thread(write_batch, self.client, self.config.database, batch)
                break
            except ClickHouseUnavailableError as exc:
                metrics.RETRIES.labels(table).inc()
                metrics.STALLED.set(1)
                if not retry:
                    log.warning("dropping unwritten batch of %d rows for %s: %s", len(batch), table, exc)
                    return False
                log.warning("ClickHouse insert failed, retrying in %.1fs: %s", delay, exc)
                if await asyncio.to_thread(self.stop.wait, delay):  # stopping: leave it uncommitted
                    return False
                delay = min(delay * 2, self.config.backoff_max_s)
        metrics.STALLED.set(0)
        if batch.rejects:
            await asyncio.to_thread(self._dead_letter, batch.rejects)
        if self._consumer is not None:
            try:
                await self._consumer.commit(batch.commit_offsets())
            except (CommitFailedError, IllegalStateError) as exc:
                # The group rebalanced meanwhile; the rows are in ClickHouse and the new owner
                # re-reads them from the old offset, which the replacing merge collapses.
                log.warning("offset commit for %s lost to a rebalance: %s", table, exc)
            except KafkaError as exc:
                log.warning("offset commit for %s failed, the batch will be re-read: %s", table, exc)
        metrics.ROWS_INSERTED.labels(table).inc(inserted)
        metrics.BATCH_SECONDS.labels(table).observe(time.monotonic() - started)
        batch.clear()
        return True

    async def flush_all(self, *, retry: bool = True) -> bool:
        ok = True
        for batch in self.batches.values():
            ok = await self.flush(batch, retry=retry) and ok
        return ok

    def _dead_letter(self, rejects: list[Reject]) -> None:
        dead_letter_topic = self.config.dead_letter_topic or topics.DEAD_LETTER
        futures = []
        for r in rejects:
            errors = [FieldError(r.field, r.reason)] if r.field else []
            letter = make_dead_letter(
                _STAGE, r.reason, r.payload, errors=errors, topic=r.topic,
                details={"partition": r.partition, "offset": r.offset},
            )  # fmt: skip
            futures.append(send_dead_letter(self.producer, letter, topic=dead_letter_topic))
            metrics.DEAD_LETTERS.labels(r.topic).inc()
        try:
            for future in futures:
                future.get(timeout=30)
        except SyncKafkaError as exc:
            # Committing past a reject that never reached the dead-letter topic would lose it.
            raise SinkError(f"dead-letter produce failed: {exc!r}") from exc
        log.info("sent %d rows to the dead-letter topic", len(rejects))

    # -- lag, rebalance, shutdown ---------------------------------------------------------------

    def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        by_topic: dict[str, int] = dict.fromkeys(self.config.routes, 0)
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)  # from fetch replies: right on Tansu, unlike end_offsets
            if highwater is not None and tp in self.next_offset:
                by_topic[tp.topic] += max(0, highwater - self.next_offset[tp])
        for topic, lag in by_topic.items():
            metrics.LAG.labels(topic).set(lag)
        self.lag = by_topic

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # One attempt only: a rebalance cannot wait out a ClickHouse outage. A batch dropped here was
        # never committed, and after the rebalance every partition resumes from its committed offset.
        await self._settle()
        if not await self.flush_all(retry=False):
            for batch in self.batches.values():
                batch.clear()
        for tp in revoked:
            self.next_offset.pop(tp, None)

    async def _close(self, consumer: AIOKafkaConsumer) -> None:
        """Flush what is pending (giving up on it if ClickHouse is down), commit, close clients."""
        try:
            await self._settle()
            await self.flush_all(retry=not self.stop.is_set())
        finally:
            for task in self._inflight.values():  # only left when _settle raised
                task.cancel()
            await consumer.stop()
            self._consumer = None
            self.producer.close(timeout=10)
            self.client.disconnect()
