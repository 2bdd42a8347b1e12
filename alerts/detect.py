"""Drop detection: verdicts against a baseline, and a per-alert state machine that does not flap.

Pure code: observations in, alerts out, with ``now`` always passed in, so the monitor, the tests and
a backfill all behave the same. Semantics follow Prometheus alerting: a condition must hold for
``for_s`` before firing; recovery needs the value back above a higher threshold for
``resolve_for_s`` (hysteresis). Too little volume yields UNKNOWN, which never fires or resolves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

__all__ = ["Alert", "Detector", "Observation", "Verdict", "alert_id", "judge_above", "judge_drop"]


class Verdict(StrEnum):
    BREACH = "breach"  # past the firing threshold
    HOLD = "hold"  # between the firing and resolving thresholds: keep the current state
    HEALTHY = "healthy"  # past the resolving threshold
    UNKNOWN = "unknown"  # too little volume to judge (quiet night, no history yet)


def judge_drop(
    value: float,
    baseline: float,
    volume: float,
    *,
    fire_below: float,
    resolve_above: float,
    min_volume: float,
) -> Verdict:
    """Verdict for "value dropped below a fraction of its baseline"."""
    if baseline <= 0 or volume < min_volume:
        return Verdict.UNKNOWN
    ratio = value / baseline
    if ratio < fire_below:
        return Verdict.BREACH
    if ratio >= resolve_above:
        return Verdict.HEALTHY
    return Verdict.HOLD


def judge_above(value: float, *, fire_above: float, resolve_below: float) -> Verdict:
    """Verdict for "value rose above a limit" (stream lag)."""
    if value > fire_above:
        return Verdict.BREACH
    if value <= resolve_below:
        return Verdict.HEALTHY
    return Verdict.HOLD


def alert_id(kind: str, subject: str, fired_at: datetime, state: str) -> str:
    """Same episode and state => same id, so a re-sent alert is recognisably a repeat."""
    key = f"{kind}|{subject}|{fired_at.isoformat()}|{state}"
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Observation:
    """One evaluation of one alert subject at ``at``; ``summary`` is the human sentence."""

    kind: str
    subject: str
    at: datetime
    value: float
    baseline: float
    verdict: Verdict
    summary: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Alert:
    """A state change worth telling someone about; field names match the ``alerts`` table."""

    alert_id: str
    ts: datetime
    kind: str
    subject: str
    state: Literal["firing", "resolved"]
    value: float
    baseline: float
    message: str
    fired_at: datetime
    labels: tuple[tuple[str, str], ...] = ()


Phase = Literal["ok", "pending", "firing", "recovering"]


@dataclass(slots=True)
class _State:
    phase: Phase = "ok"
    since: datetime | None = None  # when the current pending / recovering phase began
    fired_at: datetime | None = None  # start of the current firing episode


@dataclass
class Detector:
    """Keeps one state per (kind, subject); :meth:`step` returns an :class:`Alert` on a change."""

    _states: dict[tuple[str, str], _State] = field(default_factory=dict)

    def restore_firing(self, kind: str, subject: str, fired_at: datetime) -> None:
        """Resume an episode that was firing before a restart, so it is not announced twice."""
        self._states[(kind, subject)] = _State("firing", None, fired_at)

    def firing(self) -> list[tuple[str, str]]:
        return [k for k, s in self._states.items() if s.phase in ("firing", "recovering")]

    def phase(self, kind: str, subject: str) -> Phase:
        state = self._states.get((kind, subject))
        return state.phase if state else "ok"

    def step(self, obs: Observation, *, for_s: float, resolve_for_s: float) -> Alert | None:
        st = self._states.setdefault((obs.kind, obs.subject), _State())
        v = obs.verdict
        if st.phase in ("ok", "pending"):
            if v is not Verdict.BREACH:
                # A pending breach must hold without interruption (Prometheus `for:` semantics).
                st.phase, st.since = "ok", None
                return None
            if st.phase == "ok":
                st.phase, st.since = "pending", obs.at
            assert st.since is not None
            if (obs.at - st.since).total_seconds() >= for_s:
                st.phase, st.since, st.fired_at = "firing", None, obs.at
                return self._alert(obs, "firing", obs.at)
            return None
        # firing or recovering
        if v is Verdict.HEALTHY:
            if st.phase == "firing":
                st.phase, st.since = "recovering", obs.at
            assert st.since is not None and st.fired_at is not None
            if (obs.at - st.since).total_seconds() >= resolve_for_s:
                fired_at = st.fired_at
                st.phase, st.since, st.fired_at = "ok", None, None
                return self._alert(obs, "resolved", fired_at)
            return None
        if v is not Verdict.UNKNOWN:
            st.phase, st.since = "firing", None  # relapse or in-between: keep firing, restart recovery
        return None

    @staticmethod
    def _alert(obs: Observation, state: Literal["firing", "resolved"], fired_at: datetime) -> Alert:
        word = "FIRING" if state == "firing" else "RESOLVED"
        return Alert(
            alert_id=alert_id(obs.kind, obs.subject, fired_at, state),
            ts=obs.at,
            kind=obs.kind,
            subject=obs.subject,
            state=state,
            value=obs.value,
            baseline=obs.baseline,
            message=f"[{word}] {obs.summary}",
            fired_at=fired_at,
            labels=obs.labels,
        )
