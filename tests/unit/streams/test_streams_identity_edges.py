"""Stage 1's identity records carry the event that asserted the link and its source (the merge log)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas import jsonio
from streams.config import StreamConfig
from streams.stage_enrich import process_events

CONFIG = StreamConfig.build()
EVENT = "00000000-0000-4000-8000-0000000000{:02d}"


def identities(event: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    out = process_events(CONFIG, [jsonio.dumps(event)], {}.get)
    rows = [jsonio.loads(v) for t, _, v in out.sends if t == CONFIG.topics.identities]
    return [(r["anonymous_id"], r["person_id"], r["account_id"], r["event_id"], r["source"]) for r in rows]


@pytest.mark.parametrize(
    ("extra", "source"),
    [
        ({"type": "identify"}, "identify"),
        ({"type": "identify", "properties": {"alias": True}}, "alias"),
        ({"type": "identify", "properties": {"group_id": "acme"}}, "group"),
        ({"type": "form_submit", "form_id": "demo", "form_kind": "demo_request"}, "form"),
        ({"type": "page_view"}, "page_view"),
    ],
)
def test_device_and_account_edges_name_their_event_and_source(extra: dict[str, Any], source: str) -> None:
    event = {"event_id": EVENT.format(1), "ts": "2026-03-02T09:00:00Z", "anonymous_id": "d1",
             "email": "ann@acme.example", **extra}  # fmt: skip
    assert identities(event) == [
        ("d1", "ann@acme.example", "acme.example", EVENT.format(1), source),
        ("", "ann@acme.example", "acme.example", EVENT.format(1), source),
    ]


def test_crm_stage_is_a_crm_edge() -> None:
    event = {"event_id": EVENT.format(2), "ts": "2026-03-02T09:00:00Z", "type": "crm_stage",
             "email": "ann@acme.example", "account_domain": "globex.example", "stage": "lead",
             "opportunity_id": "o1"}  # fmt: skip
    assert identities(event) == [("", "ann@acme.example", "globex.example", EVENT.format(2), "crm")]
