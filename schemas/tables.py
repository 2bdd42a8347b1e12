"""ClickHouse database, table and view names, in one place."""

from __future__ import annotations

__all__ = [
    "ACCOUNT_JOURNEYS",
    "ALERTS",
    "ATTRIBUTION_CREDITS",
    "CONVERSIONS",
    "DATABASE",
    "IDENTITIES",
    "PRODUCT_EVENTS",
    "SCHEMA_MIGRATIONS",
    "SPEND",
    "TOUCHPOINTS",
]

DATABASE = "touchstream"
TOUCHPOINTS = "touchpoints"
IDENTITIES = "identities"
CONVERSIONS = "conversions"
ATTRIBUTION_CREDITS = "attribution_credits"
SPEND = "spend"
ALERTS = "alerts"
PRODUCT_EVENTS = "product_events"
ACCOUNT_JOURNEYS = "account_journeys"
SCHEMA_MIGRATIONS = "schema_migrations"
