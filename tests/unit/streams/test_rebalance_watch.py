"""The rebalance watchdog: a rebalance that lasts the stall limit without a break counts as wedged."""

from __future__ import annotations

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


def test_the_limit_leaves_room_for_a_normal_rebalance_after_a_dead_member() -> None:
    # ~16 s measured on the embedded broker (10 s session timeout + heartbeat + 3 s join pause).
    assert REBALANCE_STALL_S >= 60
