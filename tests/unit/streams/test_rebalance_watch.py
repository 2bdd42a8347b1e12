"""The rebalance watchdog: a rebalance that lasts the stall limit without a break counts as wedged."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from streams import readiness
from streams.agents import EXIT_STAGE_FAILED
from streams.readiness import REBALANCE_STALL_S, RebalanceWatch


def test_a_rebalance_that_never_finishes_is_stalled_after_the_limit() -> None:
    watch = RebalanceWatch(stall_s=30.0)
    assert not watch.stalled(True, 100.0)
    assert not watch.stalled(True, 129.0)
    assert watch.stalled(True, 130.0)


def test_a_finished_rebalance_starts_the_clock_again() -> None:
    watch = RebalanceWatch(stall_s=30.0)
    assert not watch.stalled(True, 100.0)
    assert not watch.stalled(False, 125.0)  # assigned: the group formed
    assert not watch.stalled(True, 126.0)
    assert not watch.stalled(True, 150.0)
    assert watch.stalled(True, 156.0)


def test_a_restore_that_is_moving_is_no_stall() -> None:
    """faust is 'rebalancing' until its tables are restored: minutes of restore must not kill the worker."""
    watch = RebalanceWatch(stall_s=30.0)
    for second, restored in enumerate(range(0, 10_000, 50)):  # 200 s of steady progress
        assert not watch.stalled(True, 100.0 + second, restored)
    assert not watch.stalled(True, 320.0, 9_950)  # stuck from 299 s on
    assert watch.stalled(True, 330.0, 9_950)


def test_the_limit_leaves_room_for_a_normal_rebalance_after_a_dead_member() -> None:
    # ~16 s measured on the embedded broker (10 s session timeout + heartbeat + 3 s join pause).
    assert REBALANCE_STALL_S >= 60


def test_the_watch_thread_exits_a_worker_wedged_in_a_rebalance(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    done, release = threading.Event(), threading.Event()

    def fake_exit(code: int) -> None:
        exits.append(code)
        done.set()
        release.wait(5)  # the real os._exit never returns

    monkeypatch.setattr(readiness.os, "_exit", fake_exit)
    monkeypatch.setattr(readiness.logging, "shutdown", lambda: None)
    app = SimpleNamespace(rebalancing=True, should_stop=False, in_recovery=False)  # no tables: samples skip
    readiness.watch_recovery(app, interval_s=0.01, stall_s=0.05)  # type: ignore[arg-type]
    try:
        assert done.wait(5)
        assert exits == [EXIT_STAGE_FAILED]
    finally:
        app.rebalancing = False  # the thread outlives the test: never let it reach the real os._exit
        release.set()
