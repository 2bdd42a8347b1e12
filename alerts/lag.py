"""Consumer-group lag per topic: committed offsets vs partition high-water marks.

The embedded broker answers ListOffsets(LATEST) wrongly (see shared/embedded-kafka.md), so in
embedded mode the high-water mark is taken from a fetch reply instead: a group-less consumer seeks
each partition to the group's committed offset and polls once; the reply carries the true end.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from alerts.errors import LagProbeError

__all__ = ["LagProbe"]


@dataclass
class LagProbe:
    """Measures lag on demand; keeps its admin client and consumer between calls."""

    bootstrap: str
    groups: Sequence[str] = ()
    embedded_broker: bool = False
    timeout_s: float = 5.0
    _admin: KafkaAdminClient | None = field(default=None, repr=False)
    _consumer: KafkaConsumer | None = field(default=None, repr=False)

    def measure(self) -> dict[tuple[str, str], int]:
        """``{(group, topic): lag in messages}`` for every group (or the configured ones)."""
        try:
            committed = self._with_uncommitted(self._committed())
            tps = sorted({tp for offsets in committed.values() for tp in offsets})
            ends = self._high_water(tps, committed) if tps else {}
        except KafkaError as exc:
            raise LagProbeError(f"cannot read consumer lag from {self.bootstrap}: {exc}") from exc
        lag: dict[tuple[str, str], int] = defaultdict(int)
        for group, offsets in committed.items():
            for tp, offset in offsets.items():
                if tp in ends:
                    lag[(group, tp.topic)] += max(0, ends[tp] - offset)
        return dict(lag)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def _committed(self) -> dict[str, dict[TopicPartition, int]]:
        if self._admin is None:
            # A short request timeout: an OffsetFetch the broker holds back (seen while a group member
            # is frozen) fails this tick instead of stalling the monitor for the 30 s default.
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id="touchstream-monitor",
                request_timeout_ms=int(self.timeout_s * 1000),
            )
        groups = list(self.groups) or sorted(str(g["group_id"]) for g in self._admin.list_groups())
        out: dict[str, dict[TopicPartition, int]] = {}
        for group in groups:
            # One call per group: older brokers (and Tansu) reject multi-group OffsetFetch.
            offsets = self._admin.list_group_offsets({group: None}).get(group, {})
            out[group] = {tp: int(meta.offset) for tp, meta in offsets.items() if meta.offset >= 0}
        return out

    def _lag_consumer(self) -> KafkaConsumer:
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=None,
                enable_auto_commit=False,
                client_id="touchstream-monitor-lag",
                max_partition_fetch_bytes=1024,  # the records are discarded; only the reply header matters
                fetch_max_wait_ms=50,
            )
        return self._consumer

    def _with_uncommitted(
        self, committed: dict[str, dict[TopicPartition, int]]
    ) -> dict[str, dict[TopicPartition, int]]:
        """Every partition of the topics a group consumes: one it never committed counts from offset 0.

        A partition without a committed offset is one the group has not finished a batch of yet; left
        out, a worker frozen before its first commit there would hide that backlog from the lag.
        """
        consumer = self._lag_consumer()
        out = {}
        for group, offsets in committed.items():
            filled = dict(offsets)
            for topic in {tp.topic for tp in offsets}:
                for partition in consumer.partitions_for_topic(topic) or ():
                    filled.setdefault(TopicPartition(topic, partition), 0)
            out[group] = filled
        return out

    def _high_water(
        self, tps: list[TopicPartition], committed: dict[str, dict[TopicPartition, int]]
    ) -> dict[TopicPartition, int]:
        consumer = self._lag_consumer()
        if not self.embedded_broker:
            return {tp: int(off) for tp, off in consumer.end_offsets(tps).items()}
        consumer.unsubscribe()  # drop high-water marks remembered from the previous call
        consumer.assign(tps)
        start = {tp: min(o[tp] for o in committed.values() if tp in o) for tp in tps}
        for tp in tps:
            # One record before the committed offset: a caught-up partition then still returns a
            # record, and with it the high-water mark (an empty fetch reply may not carry one).
            consumer.seek(tp, max(0, start[tp] - 1))
        ends: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + self.timeout_s
        while len(ends) < len(tps) and time.monotonic() < deadline:
            consumer.poll(timeout_ms=100, max_records=1)
            for tp in tps:
                hw = consumer.highwater(tp)
                if hw is not None:
                    ends[tp] = int(hw)
                    consumer.pause(tp)  # known: stop fetching it
        consumer.resume(*tps)
        for tp in tps:
            if tp not in ends and start[tp] == 0:
                ends[tp] = 0  # nothing committed and nothing to fetch: an empty partition
        if len(ends) < len(tps):
            missing = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in tps if tp not in ends)
            raise LagProbeError(f"no high-water mark within {self.timeout_s}s for {missing}")
        return ends
