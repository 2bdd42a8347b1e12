"""The monitor: one :meth:`Monitor.tick` evaluates velocity, intake and lag and delivers changes.

``now`` is always passed in, so the scheduled process, the CLI and the tests run the same code; the
schedule itself lives in ``cli/monitor.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clickhouse_driver import Client

from alerts.detect import Alert, Detector, Observation, judge_above, judge_drop
from alerts.errors import AlertQueryError, LagProbeError
from alerts.identity import (
    DEVICE_JUMP_KIND,
    MatchRate,
    device_jump_observations,
    fetch_device_jumps,
    fetch_match_rate,
)
from alerts.intake import IntakeRate, intake_observations, intake_rates
from alerts.lag import LagProbe
from alerts.metrics import MonitorMetrics
from alerts.notifiers.base import Dispatcher
from alerts.queries import fetch_firing, fetch_intake_windows, fetch_opportunities
from alerts.rules import Rules
from alerts.velocity import FACTOR_LABELS, VelocityReport, velocity_reports

__all__ = ["LAG_KIND", "VELOCITY_KIND", "Monitor", "velocity_observations"]

log = logging.getLogger(__name__)
VELOCITY_KIND = "velocity_drop"
LAG_KIND = "consumer_lag"


def velocity_observations(reports: list[VelocityReport], rules: Rules, at: datetime) -> list[Observation]:
    rule = rules.velocity
    out = []
    for rep in reports:
        factor, change = rep.biggest_mover()
        verdict = judge_drop(
            rep.now.velocity,
            rep.baseline.velocity,
            rep.volume,
            fire_below=rule.fire_below,
            resolve_above=rule.resolve_above,
            min_volume=rule.min_opportunities,
        )
        labels = (
            ("segment", rep.segment),
            ("factor", factor),
            ("factor_label", FACTOR_LABELS[factor]),
            ("factor_change", f"{change:+.3f}"),
        )
        out.append(
            Observation(
                VELOCITY_KIND,
                rep.segment,
                at,
                rep.now.velocity,
                rep.baseline.velocity,
                verdict,
                rep.summary(),
                labels,
            )
        )
    return out


@dataclass
class Monitor:
    client: Client
    database: str
    rules: Rules
    dispatcher: Dispatcher
    metrics: MonitorMetrics | None = None
    lag_probe: LagProbe | None = None
    detector: Detector = field(default_factory=Detector)
    velocity: list[VelocityReport] = field(default_factory=list)  # latest, for `touchstream velocity`
    intake: list[IntakeRate] = field(default_factory=list)
    match_rate: MatchRate | None = None  # latest, for the dashboard
    _velocity_at: datetime | None = None
    _identity_at: datetime | None = None

    def restore(self) -> int:
        """Resume episodes still firing in the ``alerts`` table; returns how many."""
        firing = fetch_firing(self.client, self.database)
        for kind, subject, fired_at in firing:
            self.detector.restore_firing(kind, subject, fired_at)
        return len(firing)

    def tick(self, now: datetime) -> list[Alert]:
        """Evaluate every check at ``now``; returns the alerts that changed state (already delivered)."""
        checks: list[tuple[str, Callable[[datetime], list[Observation]], float, float]] = [
            ("velocity", self._velocity, self.rules.velocity.for_s, self.rules.velocity.resolve_for_s),
            ("intake", self._intake, self.rules.intake.for_s, self.rules.intake.resolve_for_s),
            ("identity", self._identity, self.rules.identity.for_s, self.rules.identity.resolve_for_s),
        ]
        if self.lag_probe is not None:
            checks.append(("lag", self._lag, self.rules.lag.for_s, self.rules.lag.resolve_for_s))
        changed: list[Alert] = []
        for name, check, for_s, resolve_for_s in checks:
            try:
                observations = check(now)
            except (AlertQueryError, LagProbeError) as exc:
                # One broken check must not silence the others; the error counter makes it visible.
                log.error("monitor check %s failed: %s", name, exc)
                if self.metrics:
                    self.metrics.errors.labels(name).inc()
                continue
            for obs in observations:
                alert = self.detector.step(obs, for_s=for_s, resolve_for_s=resolve_for_s)
                if alert is None:
                    continue
                changed.append(alert)
                for failure in self.dispatcher.deliver(alert):
                    if self.metrics:
                        self.metrics.deliveries_failed.labels(failure.target).inc()
        if self.metrics:
            self.metrics.observe_firing(self.detector.firing())
            self.metrics.last_run.set(now.timestamp())
        return changed

    def _velocity(self, now: datetime) -> list[Observation]:
        rule = self.rules.velocity
        if self._velocity_at is not None and now - self._velocity_at < timedelta(minutes=rule.every_minutes):
            return []
        window = timedelta(days=rule.window_days)
        since = now - window * (rule.baseline_windows + 1)
        opps = fetch_opportunities(self.client, self.database, now, since)
        self.velocity = velocity_reports(opps, now, window, rule.baseline_windows, rule.segments)
        self._velocity_at = now
        if self.metrics:
            self.metrics.observe_velocity(self.velocity)
        return velocity_observations(self.velocity, self.rules, now)

    def _identity(self, now: datetime) -> list[Observation]:
        rule = self.rules.identity
        if self._identity_at is not None and now - self._identity_at < timedelta(minutes=rule.every_minutes):
            return []
        self.match_rate = fetch_match_rate(
            self.client, self.database, now, timedelta(days=rule.match_window_days)
        )
        window = timedelta(hours=rule.window_hours)
        # Accounts at half the limit too, so a firing one is seen falling back and resolves.
        jumps = fetch_device_jumps(self.client, self.database, now, window, max(rule.device_jump // 2, 1))
        self._identity_at = now
        if self.metrics:
            self.metrics.observe_match_rate(self.match_rate)
        firing = [s for k, s in self.detector.firing() if k == DEVICE_JUMP_KIND]
        return device_jump_observations(jumps, firing, rule, now)

    def _intake(self, now: datetime) -> list[Observation]:
        rule = self.rules.intake
        end = now - timedelta(seconds=rule.settle_seconds)
        window = timedelta(minutes=rule.window_minutes)
        windows = fetch_intake_windows(
            self.client, self.database, end, window, rule.baseline_weeks, rule.dimensions
        )
        self.intake = intake_rates(windows, rule.window_minutes, rule.min_history_weeks)
        if self.metrics:
            self.metrics.observe_intake(self.intake)
        return intake_observations(self.intake, rule, now)

    def _lag(self, now: datetime) -> list[Observation]:
        assert self.lag_probe is not None
        rule = self.rules.lag
        lag = self.lag_probe.measure()
        if self.metrics:
            self.metrics.observe_lag(lag)
        return [
            Observation(
                LAG_KIND,
                f"{group}/{topic}",
                now,
                float(n),
                float(rule.fire_above),
                judge_above(n, fire_above=rule.fire_above, resolve_below=rule.resolve_below),
                f"consumer group {group} is {n:,} messages behind on {topic} (limit {rule.fire_above:,})",
                (("group", group), ("topic", topic)),
            )
            for (group, topic), n in sorted(lag.items())
        ]
