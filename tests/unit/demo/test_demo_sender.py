"""Every request the generator makes is accepted by the real collector app (producer recorded)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import httpx

from compat.app import create_app
from demo import simulate
from demo.sender import send
from schemas.events import parse_event
from schemas.settings import Settings


class RecordingProducer:
    """Stands in for Kafka: keeps what the collector produced (this test is about HTTP shapes)."""

    retry_after_s = 1
    down = False

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes]] = []

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def reachable(self, timeout_s: float = 1.0) -> bool:
        return True

    async def send(self, records: list[tuple[bytes, bytes]]) -> None:
        self.records.extend(records)


def test_collector_accepts_every_generated_request() -> None:
    sim = simulate(accounts=40, days=30, seed=9, end=datetime.now(UTC))
    producer = RecordingProducer()
    app = create_app(Settings(rate_limit_per_key=1e9), producer=producer)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    stats = asyncio.run(send("http://collector", sim.requests(), rate=0, transport=transport))
    assert stats.errors == [] and stats.rejected == 0
    produced = [parse_event(value) for _, value in producer.records]
    assert stats.accepted == len(produced)
    by_type = Counter(e.type for e in produced)
    expected = sim.expected.events_by_type
    forms = expected["form_submit"]
    assert by_type == Counter({**expected, "identify": expected["identify"] + forms})
    # Ids the generator chose survive as sent; the collector derives the others (forms, CRM, spend).
    sent_ids = {
        e.event["event_id"]
        for e in sim.events
        if e.event["type"] not in ("form_submit", "crm_stage", "spend")
    }
    assert sent_ids <= {str(e.event_id) for e in produced}
    assert stats.accepted_ids == sent_ids
    stages = Counter(e.stage for e in produced if e.type == "crm_stage")
    assert stages == Counter(sim.expected.conversions_by_stage)
    # UTM parameters and click ids survive the pixel and the batch alike.
    gclids = [e for e in produced if e.type == "page_view" and e.click_ids.gclid]
    assert gclids and all(e.utm.medium == "cpc" for e in gclids)
