"""Prometheus metrics of one collector process, on a registry of its own (tests build many apps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["CollectorMetrics"]


@dataclass
class CollectorMetrics:
    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "touchstream_collector_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=r,
        )
        self.accepted = Counter(
            "touchstream_collector_events_accepted",
            "events acknowledged by Kafka",
            ["type", "source"],
            registry=r,
        )
        self.rejected = Counter(
            "touchstream_collector_events_rejected",
            "events refused as invalid",
            ["route", "source"],
            registry=r,
        )
        self.produce_errors = Counter(
            "touchstream_collector_produce_errors",
            "requests whose events Kafka did not acknowledge",
            registry=r,
        )
        self.async_lost = Counter(
            "touchstream_collector_async_events_lost",
            "pixel events answered before the ack (TOUCHSTREAM_PIXEL_ACK=async) that Kafka did not take",
            registry=r,
        )
        self.broker_down = Counter(
            "touchstream_collector_broker_down_responses",
            "503 answers because the broker was down",
            registry=r,
        )
        self.latency = Histogram(
            "touchstream_collector_request_seconds",
            "request latency including the Kafka acknowledgement",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
            registry=r,
        )
