"""ClickHouse database, table and view names, in one place."""

from __future__ import annotations

__all__ = [
    "ACCOUNT_JOURNEYS",
    "ALERTS",
    "ATTRIBUTION_CREDITS",
    "CONVERSIONS",
    "DATABASE",
    "IDENTITIES",
    "IDENTITY_EDGES",
    "IDENTITY_REVOCATIONS",
    "PRODUCT_EVENTS",
    "SCHEMA_MIGRATIONS",
    "SELF_REPORTS",
    "SHARED_DEVICES",
    "SPEND",
    "TOUCHPOINTS",
    "TOUCH_DEVICES",
]

DATABASE = "touchstream"
TOUCHPOINTS = "touchpoints"
IDENTITIES = "identities"
# The merge log: every identity link with the event that asserted it (migration 0010).
IDENTITY_EDGES = "identity_edges"
# `touchstream identity split / unlink / relink`: the latest row per edge says whether it is revoked (0013).
IDENTITY_REVOCATIONS = "identity_revocations"
CONVERSIONS = "conversions"
ATTRIBUTION_CREDITS = "attribution_credits"
SPEND = "spend"
ALERTS = "alerts"
PRODUCT_EVENTS = "product_events"
# "How did you hear about us?" answers from forms and CRM contacts, one row per answering event (0012).
SELF_REPORTS = "self_reports"
ACCOUNT_JOURNEYS = "account_journeys"
# Devices the shared-device guard links to nobody (view, issue 18).
SHARED_DEVICES = "shared_devices"
# First touch per raw id triple, fed from touchpoints by a materialized view (migration 0005).
TOUCH_DEVICES = "touch_devices"
SCHEMA_MIGRATIONS = "schema_migrations"
