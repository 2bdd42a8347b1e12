"""The alert state machine: for-duration, hysteresis, minimum volume, stable ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.detect import Detector, Observation, Verdict, alert_id, judge_above, judge_drop

T0 = datetime(2031, 1, 6, 10, 0, tzinfo=UTC)


def obs(minute: int, verdict: Verdict, value: float = 1.0) -> Observation:
    return Observation("intake_drop", "source=x", T0 + timedelta(minutes=minute), value, 10.0, verdict, "s")


def run(
    det: Detector, verdicts: list[Verdict], for_s: float = 120, resolve_for_s: float = 120
) -> list[tuple[int, str]]:
    out = []
    for m, v in enumerate(verdicts):
        a = det.step(obs(m, v), for_s=for_s, resolve_for_s=resolve_for_s)
        if a:
            out.append((m, a.state))
    return out


B, H, M, U = Verdict.BREACH, Verdict.HEALTHY, Verdict.HOLD, Verdict.UNKNOWN


def test_fires_only_after_the_breach_held_for_the_duration() -> None:
    assert run(Detector(), [B, B, H, B, B, B]) == [(5, "firing")]


def test_in_between_values_neither_fire_nor_resolve() -> None:
    # Hysteresis: HOLD resets a pending breach and keeps a firing alert firing.
    assert run(Detector(), [B, M, B, B, B, M, M, M, M]) == [(4, "firing")]


def test_recovery_must_hold_too_and_a_relapse_restarts_it() -> None:
    assert run(Detector(), [B, B, B, H, H, B, H, H, H]) == [(2, "firing"), (8, "resolved")]


def test_unknown_volume_never_fires_or_resolves() -> None:
    assert run(Detector(), [U] * 5) == []
    assert run(Detector(), [B, B, B, U, U, U, U]) == [(2, "firing")]


def test_resolved_alert_carries_the_episode_start() -> None:
    det = Detector()
    alerts = [det.step(obs(m, v), for_s=0, resolve_for_s=0) for m, v in enumerate([B, H])]
    fired, resolved = alerts
    assert fired and resolved
    assert resolved.fired_at == fired.ts == T0
    assert resolved.alert_id == alert_id("intake_drop", "source=x", T0, "resolved") != fired.alert_id
    assert resolved.message == "[RESOLVED] s"


def test_restored_episode_is_not_announced_again() -> None:
    det = Detector()
    det.restore_firing("intake_drop", "source=x", T0 - timedelta(hours=1))
    assert run(det, [B, B, B]) == []
    assert det.firing() == [("intake_drop", "source=x")]


def test_judges() -> None:
    kw = {"fire_below": 0.5, "resolve_above": 0.8, "min_volume": 30}
    assert judge_drop(4, 10, 100, **kw) is Verdict.BREACH
    assert judge_drop(6, 10, 100, **kw) is Verdict.HOLD
    assert judge_drop(8, 10, 100, **kw) is Verdict.HEALTHY
    assert judge_drop(0, 10, 29, **kw) is Verdict.UNKNOWN
    assert judge_drop(0, 0, 100, **kw) is Verdict.UNKNOWN
    assert judge_above(11, fire_above=10, resolve_below=2) is Verdict.BREACH
    assert judge_above(5, fire_above=10, resolve_below=2) is Verdict.HOLD
    assert judge_above(2, fire_above=10, resolve_below=2) is Verdict.HEALTHY
