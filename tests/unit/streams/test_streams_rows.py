"""The fast orjson rows are the documented contract: same fields as ``schemas.records``, same JSON."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel

from schemas import jsonio
from schemas.records import (
    ConversionRecord,
    CreditRecord,
    IdentityRecord,
    SelfReportRecord,
    TouchpointRecord,
)
from streams.config import StreamConfig
from streams.rows import ConversionRow, CreditRow, IdentityRow, SelfReportRow, TouchpointRow
from streams.stage_enrich import process_events
from streams.stage_journey import process_entities
from tests.integration.streams.streams_journey import Journey

CONFIG = StreamConfig.build(brand_terms=("northwind",))
PAIRS: list[tuple[type[Any], type[BaseModel]]] = [
    (TouchpointRow, TouchpointRecord),
    (IdentityRow, IdentityRecord),
    (ConversionRow, ConversionRecord),
    (CreditRow, CreditRecord),
    (SelfReportRow, SelfReportRecord),
]


@pytest.mark.parametrize(("row", "model"), PAIRS)
def test_row_fields_are_the_model_fields(row: type[Any], model: type[BaseModel]) -> None:
    assert {f.name for f in dataclasses.fields(row)} == set(model.model_fields)


def _outputs() -> dict[str, list[bytes]]:
    """Every record a realistic journey (lead form, then an opportunity) makes, by topic."""
    journey = Journey()
    raw = [jsonio.dumps(e) for e in [*journey.before_lead(), journey.opportunity]]
    state: dict[str, bytes] = {}
    first = process_events(CONFIG, raw, state.get)
    sends = list(first.sends)
    pending = [(k, v) for t, k, v in first.sends if t == CONFIG.topics.by_account]
    journeys: dict[str, bytes] = {}
    while pending:  # the journey stage forwards hand-overs to itself: run it to a fixed point
        out = process_entities(CONFIG, pending, journeys.get)
        journeys.update({k: v for k, (v, _) in out.writes.items()})
        sends.extend(out.sends)
        pending = [(k, v) for t, k, v in out.sends if t == CONFIG.topics.by_account]
    by_topic: dict[str, list[bytes]] = {}
    for topic, _, value in sends:
        by_topic.setdefault(topic, []).append(value)
    return by_topic


def test_emitted_json_validates_and_round_trips_through_the_models() -> None:
    out = _outputs()
    t = CONFIG.topics
    for topic, model, n in (
        (t.touchpoints, TouchpointRecord, 5),
        (t.identities, IdentityRecord, 2),
        (t.conversions, ConversionRecord, 2),
        (t.credits, CreditRecord, 2 * 8),
    ):
        values = out.get(topic, [])
        assert len(values) >= n, topic
        for value in values:
            record = model.model_validate_json(value)
            # Same JSON the model itself dumps: names, types, datetimes with Z, v=1.
            assert jsonio.loads(record.model_dump_json()) == jsonio.loads(value)


def test_answers_on_forms_and_crm_changes_become_self_report_records() -> None:
    base = {"ts": "2026-01-05T10:00:00Z", "email": "ann@acme.example", "self_reported": "A podcast!"}
    raw = [
        jsonio.dumps({**base, "event_id": "00000000-0000-4000-8000-00000000000a", "type": "form_submit",
                      "anonymous_id": "d1", "form_id": "demo", "form_kind": "demo_request"}),
        jsonio.dumps({**base, "event_id": "00000000-0000-4000-8000-00000000000b", "type": "crm_stage",
                      "stage": "mql", "self_reported": "g2"}),
        jsonio.dumps({**base, "event_id": "00000000-0000-4000-8000-00000000000c", "type": "crm_stage",
                      "stage": "sql", "self_reported": None}),  # no answer: no record
    ]  # fmt: skip
    out = process_events(CONFIG, raw, {}.get)
    records = [
        SelfReportRecord.model_validate_json(v) for t, _, v in out.sends if t == CONFIG.topics.self_reports
    ]
    got = [(r.source, r.answer, r.channel, r.person_id, r.account_id) for r in records]
    assert got == [
        ("form", "A podcast!", "podcast", "ann@acme.example", "acme.example"),
        ("crm", "g2", "review_sites", "ann@acme.example", "acme.example"),
    ]
    assert all(jsonio.loads(r.model_dump_json())["v"] == 1 for r in records)


def test_touchpoint_rows_carry_the_type_specific_facts() -> None:
    rows = [jsonio.loads(v) for v in _outputs()[CONFIG.topics.touchpoints]]
    by_type = {(r["type"], r["engagement_kind"]): r for r in rows}
    assert by_type[("engagement", "podcast")]["duration_s"] == 1800.0
    assert by_type[("form_submit", "")]["form_kind"] == "demo_request"
    mention = {
        "event_id": "00000000-0000-4000-8000-000000000001",
        "type": "mention",
        "ts": "2026-01-05T10:00:00Z",
        "brand": "Rival",
        "competitor": True,
        "reach": 1200,
        "channel": "organic_social",
        "anonymous_id": "m1",
    }
    out = process_events(CONFIG, [jsonio.dumps(mention)], {}.get)
    (row,) = [jsonio.loads(v) for t, _, v in out.sends if t == CONFIG.topics.touchpoints]
    assert (row["brand"], row["is_competitor"], row["reach"]) == ("Rival", True, 1200)
    TouchpointRecord.model_validate(row)
