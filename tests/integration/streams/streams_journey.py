# ruff: noqa: E501 - fixtures, user agents and SQL clauses read best on one line
"""The realistic B2B journey the integration tests feed, and the credits it must produce."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

DAY = timedelta(days=1)
SITE = "https://northwind.io"


def _id() -> str:
    return str(uuid.uuid4())


def _ts(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


class Journey:
    """LinkedIn post view -> podcast listen -> branded search 3 weeks later -> demo form -> opportunity."""

    def __init__(self, account: str = "acme.io", base: datetime | None = None) -> None:
        self.account = account
        self.anon = f"anon-{uuid.uuid4().hex[:8]}"
        self.email = f"alice@{account}"
        self.base = base or (datetime.now(UTC) - 60 * DAY).replace(microsecond=0)
        b = self.base
        self.linkedin = {
            "event_id": _id(),
            "type": "engagement",
            "ts": _ts(b),
            "anonymous_id": self.anon,
            "channel": "organic_social",
            "kind": "social",
            "context": {"url": "https://www.linkedin.com/posts/northwind-launch"},
        }
        self.podcast = {
            "event_id": _id(),
            "type": "engagement",
            "ts": _ts(b + 2 * DAY),
            "anonymous_id": self.anon,
            "channel": "podcast",
            "kind": "podcast",
            "duration_s": 1800,
        }
        search_at = b + 23 * DAY
        self.search = {
            "event_id": _id(),
            "type": "page_view",
            "ts": _ts(search_at),
            "anonymous_id": self.anon,
            "context": {
                "url": f"{SITE}/pricing",
                "referrer": "https://www.google.com/search?q=northwind+pricing",
                "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Version/17.0 Safari/605.1.15",
            },
        }
        self.internal = {
            "event_id": _id(),
            "type": "page_view",
            "ts": _ts(search_at + timedelta(minutes=5)),
            "anonymous_id": self.anon,
            "context": {"url": f"{SITE}/demo", "referrer": f"{SITE}/pricing"},
        }
        self.form = {
            "event_id": _id(),
            "type": "form_submit",
            "ts": _ts(search_at + timedelta(minutes=10)),
            "anonymous_id": self.anon,
            "email": self.email,
            "form_id": "demo",
            "form_kind": "demo_request",
            "context": {"url": f"{SITE}/demo", "referrer": f"{SITE}/demo"},
        }
        self.opportunity = {"event_id": _id(), "type": "crm_stage", "ts": _ts(b + 30 * DAY),
                            "account_domain": account, "stage": "opportunity", "amount": 50000.0,
                            "currency": "USD", "opportunity_id": "opp-1"}  # fmt: skip

    def before_lead(self) -> list[dict[str, Any]]:
        return [self.linkedin, self.podcast, self.search, self.internal, self.form]

    def touches(self) -> list[str]:
        return [self.linkedin["event_id"], self.podcast["event_id"], self.search["event_id"]]

    def expected(self, stage: str) -> dict[str, dict[str, float]]:
        """model -> {event_id: credit}, worked out by hand from the rules in attribution/rules.py."""
        li, pod, search = self.touches()
        # time_decay, half-life 7 days, relative to the last touch: gaps 23 and 21 days.
        w = [2 ** (-23 / 7), 2 ** (-21 / 7), 1.0]
        td = {e: x / sum(w) for e, x in zip((li, pod, search), w, strict=True)}
        if stage == "lead":  # anchors: first (li) and lead creation (search, just before the form)
            w_shaped = {li: 0.45, pod: 0.1, search: 0.45}
            full_path = {li: 0.3, pod: 0.1, search: 0.6}  # first, lead, last=search
        else:  # opportunity: lead and opportunity creation both land on the search
            w_shaped = {li: 0.3, pod: 0.1, search: 0.6}
            full_path = {li: 0.225, pod: 0.1, search: 0.675}
        return {
            "first": {li: 1.0},
            "last": {search: 1.0},
            "linear": {li: 1 / 3, pod: 1 / 3, search: 1 / 3},
            "time_decay": td,
            "u_shaped": {li: 0.4, pod: 0.2, search: 0.4},
            "w_shaped": w_shaped,
            "full_path": full_path,
            "last_non_direct": {search: 1.0},
        }
