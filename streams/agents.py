"""Faust wiring: the two stages as batch agents, their changelogged tables, one write per key per batch.

Tables cannot be written from a ``take()`` batch because faust finds the changelog partition through
the *current event* context variable, which the batching machinery does not set. Each batch here
sets that context to the last event that touched a key (same key, same partition: the table is
co-partitioned with its source topic) and writes the key once, after the outputs are acknowledged:
a crash then replays the batch against the old state, never against a state whose outputs were lost.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import faust
from faust.streams import _current_event  # noqa: PLC2701 - see module docstring
from faust.types import TableT

from streams.config import StreamConfig
from streams.dedupe import apply_index, index_of
from streams.metrics import (
    ASSIGNED_PARTITIONS,
    BATCH_SECONDS,
    DEAD_LETTERS,
    DUPLICATES_DROPPED,
    EVENTS_IN,
    LAST_BATCH,
    RECORDS_OUT,
)
from streams.producer import OutputProducer
from streams.stage_enrich import BatchOutput, process_events
from streams.stage_journey import process_entities

__all__ = ["DEDUPE_TABLE", "IDENTITY_TABLE", "JOURNEY_TABLE", "Topology", "changelog_topics", "register"]

IDENTITY_TABLE = "identity"
DEDUPE_TABLE = "dedupe"  # event id -> digest of its first accepted copy (streams.dedupe)
EXIT_STAGE_FAILED = 70  # EX_SOFTWARE: the worker's process exit code when a stage fails
log = logging.getLogger(__name__)
JOURNEY_TABLE = "journeys"


def changelog_topics(app_id: str) -> tuple[str, ...]:
    """Faust's changelog topic names, to pre-create them with the source topics' partition count."""
    return tuple(f"{app_id}-{name}-changelog" for name in (IDENTITY_TABLE, JOURNEY_TABLE, DEDUPE_TABLE))


@dataclass(frozen=True, slots=True)
class Topology:
    identity: TableT[bytes, bytes | None]
    journeys: TableT[bytes, bytes | None]
    output: OutputProducer
    dedupe: TableT[bytes, bytes | None]


def _set(table: Any, event: Any, key: str, value: bytes | None) -> None:
    token = _current_event.set(weakref.ref(event))
    try:
        if value is not None:
            table[key.encode()] = value
        elif key.encode() in table:
            del table[key.encode()]  # an erasure (streams.erasure): a tombstone in the changelog
    finally:
        _current_event.reset(token)


def _write_state(table: Any, events: Sequence[Any], writes: dict[str, tuple[bytes | None, int]]) -> None:
    for key, (value, index) in writes.items():
        _set(table, events[index], key, value)


def _exit_unless_stopping(app: faust.App, stage: str, exc: BaseException) -> None:
    """A stage that failed exits the whole worker process, so its supervisor (`touchstream up`, a container
    runtime) starts it again from the committed offsets and the table changelogs.

    Faust's default is to restart the agent alone, which after a failed batch can leave it consuming
    nothing while the process looks healthy (seen after a broker restart mid-produce). Exiting is safe
    where a SIGKILL is: state is written only after a batch's outputs are acknowledged.
    """
    if app.should_stop:
        return  # shutting down: the failure is the shutdown's
    log.critical("stage %s failed: %r; exiting so the worker restarts from committed offsets", stage, exc)
    logging.shutdown()
    os._exit(EXIT_STAGE_FAILED)


def _count(stage: str, n_in: int, out: BatchOutput) -> None:
    EVENTS_IN.labels(stage).inc(n_in)
    LAST_BATCH.labels(stage).set_to_current_time()
    if out.dead_letters:
        DEAD_LETTERS.labels(stage).inc(out.dead_letters)
    if out.retries:
        DUPLICATES_DROPPED.labels(stage).inc(out.retries)
    for topic, n in Counter(topic for topic, _, _ in out.sends).items():
        RECORDS_OUT.labels(topic).inc(n)


def register(
    app: faust.App,
    config: StreamConfig,
    bootstrap: str,
    partitions: int,
    batch: int = 2000,
    within: float = 0.2,
) -> Topology:
    """Attach topics, tables and the two agents to ``app``."""
    t = config.topics
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    events_topic = app.topic(t.events, partitions=partitions, **raw)
    by_account_topic = app.topic(t.by_account, partitions=partitions, **raw)
    # Tables take no serializer arguments: they use the app's (raw, see streams.app).
    table_args: dict[str, Any] = {
        "partitions": partitions,
        "default": None,
        "key_type": bytes,
        "value_type": bytes,
    }
    identity = app.Table(IDENTITY_TABLE, **table_args)
    journeys = app.Table(JOURNEY_TABLE, **table_args)
    dedupe = app.Table(DEDUPE_TABLE, **table_args)
    output = OutputProducer(bootstrap, loop=app.loop, beacon=app.beacon)
    app.service(output)  # type: ignore[arg-type]
    # The dedupe table's in-memory index (streams.dedupe), rebuilt at the first batch after each
    # assignment: agents get events only once faust has restored the tables of their partitions.
    seen_index: dict[bytes, bytes] = {}
    index_stale = [True]

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        assigned: set[Any] = args[0] if args else set()
        index_stale[0] = True
        for name in (t.events, t.by_account):
            ASSIGNED_PARTITIONS.labels(name).set(sum(1 for tp in assigned if tp.topic == name))

    @app.agent(events_topic, name="enrich-stitch")
    async def enrich_stitch(stream: Any) -> None:
        try:
            async for events in stream.take_events(batch, within):
                started = time.perf_counter()
                if index_stale[0] and config.dedupe_days > 0:
                    index_stale[0] = False
                    seen_index.clear()
                    seen_index.update(index_of(dedupe.items()))
                out = process_events(
                    config,
                    [e.value for e in events],
                    lambda k: identity.get(k.encode()),
                    seen_load=lambda k: dedupe.get(k.encode()),
                    seen_index=seen_index,
                    partitions=[e.message.partition for e in events],
                )
                await output.send_all(out.sends)
                _write_state(identity, events, out.writes)
                _write_state(dedupe, events, out.seen)
                apply_index(seen_index, out.seen_index)
                BATCH_SECONDS.labels("enrich").observe(time.perf_counter() - started)
                _count("enrich", len(events), out)
        except Exception as exc:
            _exit_unless_stopping(app, "enrich-stitch", exc)
            raise

    @app.agent(by_account_topic, name="journeys")
    async def journey_credit(stream: Any) -> None:
        try:
            async for events in stream.take_events(batch, within):
                started = time.perf_counter()
                out = process_entities(
                    config, [(e.key or b"", e.value) for e in events], lambda k: journeys.get(k.encode())
                )
                await output.send_all(out.sends)
                _write_state(journeys, events, out.writes)
                BATCH_SECONDS.labels("journey").observe(time.perf_counter() - started)
                _count("journey", len(events), out)
        except Exception as exc:
            _exit_unless_stopping(app, "journeys", exc)
            raise

    return Topology(identity, journeys, output, dedupe)
