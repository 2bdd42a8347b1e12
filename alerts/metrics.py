"""Prometheus gauges the monitor exposes: velocity factors, intake rates, lag, firing alerts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from alerts.identity import MatchRate
from alerts.intake import IntakeRate
from alerts.velocity import FACTORS, VelocityReport

__all__ = ["MonitorMetrics"]


class MonitorMetrics:
    """One registry per monitor, so tests and several monitors in a process don't collide."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.velocity = Gauge(
            "touchstream_velocity", "Pipeline velocity (revenue per day)", ["segment"], registry=r
        )
        self.velocity_baseline = Gauge(
            "touchstream_velocity_baseline",
            "Baseline pipeline velocity (revenue per day)",
            ["segment"],
            registry=r,
        )
        self.velocity_factor = Gauge(
            "touchstream_velocity_factor", "Pipeline velocity factor now", ["segment", "factor"], registry=r
        )
        self.velocity_factor_baseline = Gauge(
            "touchstream_velocity_factor_baseline",
            "Pipeline velocity factor baseline",
            ["segment", "factor"],
            registry=r,
        )
        self.intake = Gauge(
            "touchstream_intake_events_per_minute",
            "Events received per minute",
            ["dimension", "value"],
            registry=r,
        )
        self.intake_baseline = Gauge(
            "touchstream_intake_baseline_events_per_minute",
            "Events per minute in the same hour of week, median of earlier weeks",
            ["dimension", "value"],
            registry=r,
        )
        self.lag = Gauge(
            "touchstream_consumer_lag", "Consumer-group lag in messages", ["group", "topic"], registry=r
        )
        self.match_rate = Gauge(
            "touchstream_identity_match_rate",
            "Share resolved by identity stitching over the match window: touches on an account, "
            "conversions with at least one touch",
            ["of"],
            registry=r,
        )
        self.identity_guarded = Gauge(
            "touchstream_identity_guarded",
            "Identity guards over the match window: shared devices linked to nobody, links held back",
            ["what"],
            registry=r,
        )
        self.firing = Gauge("touchstream_alerts_firing", "Alerts currently firing", ["kind"], registry=r)
        self.last_run = Gauge(
            "touchstream_monitor_last_run_timestamp_seconds", "End of the last monitor tick", registry=r
        )
        self.errors = Counter(
            "touchstream_monitor_errors", "Monitor checks that failed", ["check"], registry=r
        )
        self.deliveries_failed = Counter(
            "touchstream_alert_delivery_failures",
            "Alert deliveries that failed after retries",
            ["target"],
            registry=r,
        )

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def observe_velocity(self, reports: Iterable[VelocityReport]) -> None:
        for rep in reports:
            self.velocity.labels(rep.segment).set(rep.now.velocity)
            self.velocity_baseline.labels(rep.segment).set(rep.baseline.velocity)
            for f in FACTORS:
                self.velocity_factor.labels(rep.segment, f).set(float(getattr(rep.now, f)))
                self.velocity_factor_baseline.labels(rep.segment, f).set(float(getattr(rep.baseline, f)))

    def observe_intake(self, rates: Iterable[IntakeRate]) -> None:
        for r in rates:
            self.intake.labels(r.dimension, r.value).set(r.per_minute)
            self.intake_baseline.labels(r.dimension, r.value).set(r.baseline_per_minute)

    def observe_match_rate(self, rate: MatchRate) -> None:
        for of, value in (("touches", rate.touch_rate), ("conversions", rate.conversion_rate)):
            self.match_rate.labels(of).set(float("nan") if value is None else value)
        self.identity_guarded.labels("shared_devices").set(rate.shared_devices)
        self.identity_guarded.labels("held_links").set(rate.held_edges)

    def observe_lag(self, lag: Mapping[tuple[str, str], int]) -> None:
        for (group, topic), n in lag.items():
            self.lag.labels(group, topic).set(n)

    def observe_firing(self, firing: Iterable[tuple[str, str]]) -> None:
        counts: dict[str, int] = {}
        for kind, _subject in firing:
            counts[kind] = counts.get(kind, 0) + 1
        for kind in ("velocity_drop", "intake_drop", "consumer_lag", "identity_device_jump"):
            self.firing.labels(kind).set(counts.get(kind, 0))
