"""The durable broker's retention (embedded/retention.py): batches every group has read go once old enough."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from embedded.kafka import EmbeddedKafka
from embedded.objectdir import ObjectDir
from embedded.retention import trim_consumed
from streams.admin import ensure_topics

C = "clusters/c"


def _batch(topic: str, partition: int, offset: int) -> str:
    return f"{C}/topics/{topic}/partitions/{partition:010}/records/{offset:020}.batch"


def _committed(group: str, topic: str, partition: int) -> str:
    return f"{C}/groups/consumers/{group}/offsets/{topic}/partitions/{partition:010}.json"


def test_only_batches_every_group_has_read_and_old_enough_go(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        store = ObjectDir(tmp_path, fsync=False)
        await store.load()
        # events/0: batches at 0, 5, 10, 15, 20 (five records each); two groups at 15 and 12.
        for offset in (0, 5, 10, 15, 20):
            await store.put(_batch("events", 0, offset), b"x")
        await store.put(_committed("sink", "events", 0), json.dumps({"offset": 15}).encode())
        await store.put(_committed("streams", "events", 0), json.dumps({"offset": 12}).encode())
        # A changelog, read by a group, and a topic no group reads: both kept whole.
        for offset in (0, 1, 2):
            await store.put(_batch("s-journeys-changelog", 0, offset), b"x")
            await store.put(_batch("dead-letter", 0, offset), b"x")
        await store.put(_committed("streams", "s-journeys-changelog", 0), json.dumps({"offset": 3}).encode())
        # A partition whose batches are read but young: kept until keep_s passes.
        for offset in (0, 1):
            await store.put(_batch("events", 1, offset), b"x")
        await store.put(_committed("sink", "events", 1), json.dumps({"offset": 2}).encode())
        young = _batch("events", 1, 0)
        store._meta[young].mtime = time.time()
        for key in store._keys:
            if key != young:
                store._meta[key].mtime -= 3600
        dropped = await trim_consumed(store, keep_s=600)
        assert dropped == 2
        await store.log.close()
        reopened = ObjectDir(tmp_path)
        await reopened.load()
        keys = [key for key, _ in reopened.list(f"{C}/topics/", "", "", 1000).keys]
        await reopened.log.close()
        return keys

    kept = asyncio.run(scenario())
    # 0 and 5 end before 12 (the slower group); 10 holds 10..14, and 12 is not read by every group.
    assert [k for k in kept if "/events/partitions/0000000000/" in k] == [
        _batch("events", 0, offset) for offset in (10, 15, 20)
    ]
    assert sum("changelog" in k for k in kept) == 3 and sum("dead-letter" in k for k in kept) == 3
    assert _batch("events", 1, 0) in kept  # read by every group, but younger than keep_s


def test_tansu_consumers_read_on_after_retention(tmp_path: Path) -> None:
    """Through the real broker: a group reads 30 of 50 records and commits, retention (keep 0 s) drops
    what it read, a reader without a group starts at the first kept record, the group and producers
    carry on."""
    broker = EmbeddedKafka(tmp_path, storage="durable", keep_consumed_s=0).start()
    topic, group = f"ret-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(topic, 0)

    async def read_all(consumer: AIOKafkaConsumer, until: int) -> list[int]:
        seen: list[int] = []
        deadline = time.monotonic() + 30
        while (not seen or seen[-1] < until) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                seen += [int(r.value or b"-1") for r in records]
        return seen

    async def scenario() -> tuple[list[int], list[int]]:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        for i in range(50):  # one record per batch
            await producer.send_and_wait(topic, b"%d" % i, partition=0)
        member = AIOKafkaConsumer(
            bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False
        )
        await member.start()
        member.assign([tp])
        await member.seek_to_beginning(tp)
        assert (await read_all(member, 49))[:30] == list(range(30))
        await member.commit({tp: 30})
        await asyncio.sleep(4)  # a retention pass runs every second with keep 0
        reader = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest")
        await reader.start()
        reader.assign([tp])
        reader.seek(tp, 0)
        from_start = await read_all(reader, 49)
        await reader.stop()
        for i in range(50, 55):
            await producer.send_and_wait(topic, b"%d" % i, partition=0)
        await producer.stop()
        later = await read_all(member, 54)
        await member.stop()
        return from_start, later

    try:
        ensure_topics(broker.bootstrap, 1, [topic])
        from_start, later = asyncio.run(scenario())
    finally:
        broker.stop()
    assert from_start == list(range(30, 50))
    assert later == list(range(50, 55))
