"""Kafka topic names, in one place so no module spells a topic inline.

Keys: raw events are keyed by ``anonymous_id`` (or person/account when absent) so one visitor's
events stay ordered on one partition; the stream repartitions to ``account_id`` for journeys.
"""

from __future__ import annotations

__all__ = [
    "ALERTS",
    "ALL_TOPICS",
    "BY_ACCOUNT",
    "CONVERSIONS",
    "CREDITS",
    "DEAD_LETTER",
    "EVENTS",
    "IDENTITIES",
    "IDENTITY_HELD",
    "PRODUCT_EVENTS",
    "SELF_REPORTS",
    "SINK_TOPICS",
    "SPEND",
    "TOUCHPOINTS",
]

EVENTS = "touchstream.events"  # raw contract events from the collector (or produced directly)
DEAD_LETTER = "touchstream.dead-letter"  # rejects, with the reason and the original bytes
BY_ACCOUNT = "touchstream.by-account"  # internal: enriched events repartitioned by account
TOUCHPOINTS = "touchstream.touchpoints"  # enriched touchpoints -> ClickHouse touchpoints
IDENTITIES = "touchstream.identities"  # identity links -> ClickHouse identities
# Links a guard held back (shared device, role address, ...) -> ClickHouse identity_edges only, so they
# are visible in the merge log but never reach the resolution tables.
IDENTITY_HELD = "touchstream.identity-held"
CONVERSIONS = "touchstream.conversions"  # conversions -> ClickHouse conversions
CREDITS = "touchstream.credits"  # one record per credited touchpoint -> attribution_credits
SPEND = "touchstream.spend"  # ad spend rows -> ClickHouse spend
ALERTS = "touchstream.alerts"  # fired / recovered alerts -> ClickHouse alerts
PRODUCT_EVENTS = "touchstream.product-events"  # non-marketing custom events -> product_events
SELF_REPORTS = "touchstream.self-reports"  # "How did you hear about us?" answers -> self_reports

SINK_TOPICS: tuple[str, ...] = (
    TOUCHPOINTS, IDENTITIES, CONVERSIONS, CREDITS, SPEND, ALERTS, PRODUCT_EVENTS, SELF_REPORTS,
    IDENTITY_HELD,
)  # fmt: skip
ALL_TOPICS: tuple[str, ...] = (EVENTS, DEAD_LETTER, BY_ACCOUNT, *SINK_TOPICS)
