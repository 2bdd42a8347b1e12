"""Worker readiness and table-restore progress, exported as metrics and logged.

faust starts timers only after recovery, so a daemon thread samples its recovery service instead:
``touchstream up`` waits on ``touchstream_stream_ready`` before it announces the stack, and the
dashboard shows the restore gauges while a worker replays its changelogs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import faust
from prometheus_client import Gauge

__all__ = [
    "READY", "REBALANCE_STALL_S", "RESTORE_REMAINING", "RESTORE_TOTAL", "RebalanceWatch", "RestoreProgress",
    "watch_recovery",
]  # fmt: skip

# A rebalance that has not finished after this long is taken as wedged and the worker exits with
# EXIT_STAGE_FAILED (70) so its supervisor starts it again with a fresh member id. Why: on the embedded
# Tansu broker (0.6.0) the group coordinator has no timer of its own - a dead member is dropped only
# when a live member's request notices that its session timeout passed - and the member it dropped can
# stay recorded as the group's leader, so the survivor's JoinGroup keeps naming the dead member as
# leader and its SyncGroup keeps failing (docs/streams.md "Partitioning"). A normal rebalance after a
# SIGKILLed member takes ~16 s here (10 s session timeout + a heartbeat + Tansu's 3 s join pause), a
# worker joining ~5 s; 90 s leaves room for a slow revoke on a loaded machine. This bounds the stall
# without touching broker_max_poll_interval (it must stay >= 60 s, see streams.app).
REBALANCE_STALL_S = 90.0

READY = Gauge(
    "touchstream_stream_ready", "1 once the worker joined its group and restored its tables, else 0"
)
RESTORE_TOTAL = Gauge(
    "touchstream_stream_restore_total", "Changelog records to restore in the current recovery", ["table"]
)
RESTORE_REMAINING = Gauge(
    "touchstream_stream_restore_remaining", "Changelog records still to restore", ["table"]
)

log = logging.getLogger(__name__)


def _table_of(topic: str) -> str:
    # Changelog topics are "<app id>-<table>-changelog".
    return topic.removesuffix("-changelog").rsplit("-", 1)[-1]


@dataclass
class RestoreProgress:
    """Totals of one recovery, from faust's per-partition highwaters and restored offsets."""

    started: float = field(default_factory=time.monotonic)
    total: Counter[str] = field(default_factory=Counter)
    remaining: Counter[str] = field(default_factory=Counter)

    def sample(self, highwaters: dict[Any, int], offsets: dict[Any, int]) -> None:
        remaining: Counter[str] = Counter()
        for tp, highwater in highwaters.items():
            offset = offsets.get(tp)
            if highwater is None or offset is None:
                continue
            remaining[_table_of(tp.topic)] += max(0, highwater - offset)
        for table, left in remaining.items():
            self.total[table] = max(self.total[table], left)
        self.remaining = remaining

    def restored(self) -> int:
        return sum(self.total.values()) - sum(self.remaining.values())

    def describe(self) -> str:
        parts = [f"{t} {self.total[t] - self.remaining[t]}/{self.total[t]}" for t in sorted(self.total)]
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{', '.join(parts)} records ({self.restored() / elapsed:.0f} records/s)"


@dataclass
class RebalanceWatch:
    """How long the worker has been rebalancing with nothing moving, from periodic samples.

    faust counts a worker as rebalancing until its tables are restored, and a large restore legitimately
    takes minutes: every restored changelog record (``progress``) starts the clock again, so only a
    rebalance with no restore progress for ``stall_s`` is a stall. Killing a restore that is moving
    would only make the next start restore it all again.
    """

    stall_s: float = REBALANCE_STALL_S
    since: float | None = None
    progress: int = -1

    def stalled(self, rebalancing: bool, now: float, progress: int = 0) -> bool:
        if not rebalancing:
            self.since = None
            return False
        if self.since is None or progress != self.progress:
            self.since, self.progress = now, progress
        return now - self.since >= self.stall_s


def _exit_wedged(stalled_s: float) -> None:
    from streams.agents import EXIT_STAGE_FAILED  # agents imports faust tables: keep this module light

    log.critical(
        "rebalance has not finished after %.0f s (wedged group, see docs/streams.md); exiting so the worker "
        "restarts and rejoins the group",
        stalled_s,
    )
    logging.shutdown()
    os._exit(EXIT_STAGE_FAILED)


def _recovery(app: faust.App) -> Any:
    return app.tables.recovery  # type: ignore[attr-defined]  # on TableManager, not its Protocol


def _ready(app: faust.App) -> bool:
    recovery = _recovery(app)
    return bool(recovery.completed.is_set() and not app.in_recovery and not app.rebalancing)


def watch_recovery(
    app: faust.App, interval_s: float = 1.0, stall_s: float = REBALANCE_STALL_S
) -> threading.Thread:
    """Sample recovery every ``interval_s`` in a daemon thread (reads only; faust owns the state), and
    exit the process when a rebalance has lasted ``stall_s`` (see :data:`REBALANCE_STALL_S`)."""

    def run() -> None:
        progress: RestoreProgress | None = None
        last_log = 0.0
        watch = RebalanceWatch(stall_s)
        while True:
            time.sleep(interval_s)
            now = time.monotonic()
            restored = progress.restored() if progress is not None else 0
            if watch.stalled(bool(app.rebalancing) and not app.should_stop, now, restored):
                _exit_wedged(now - (watch.since or now))
            try:
                recovery = _recovery(app)
                ready = _ready(app)
                if app.in_recovery:
                    progress = progress or RestoreProgress()
                    progress.sample(dict(recovery.active_highwaters), dict(recovery.active_offsets))
                    for table in progress.total:
                        RESTORE_TOTAL.labels(table).set(progress.total[table])
                        RESTORE_REMAINING.labels(table).set(progress.remaining[table])
                    if time.monotonic() - last_log >= 5.0 and progress.total.total():
                        log.info("restoring tables: %s", progress.describe())
                        last_log = time.monotonic()
                elif progress is not None:
                    for table in progress.total:
                        RESTORE_REMAINING.labels(table).set(0)
                    if progress.total.total():
                        progress.remaining = Counter()
                        log.info("restored tables: %s", progress.describe())
                    progress = None
                READY.set(1 if ready else 0)
            except (AttributeError, RuntimeError) as exc:  # racing a rebalance: sample again
                log.debug("recovery sample skipped: %r", exc)

    thread = threading.Thread(target=run, name="recovery-watch", daemon=True)
    thread.start()
    return thread
