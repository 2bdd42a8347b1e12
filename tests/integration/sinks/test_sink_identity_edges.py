"""Stage 1's identity records through the sink's insert path land in identities and the merge log."""

from __future__ import annotations

from typing import NamedTuple

from kafka.structs import TopicPartition

from schemas import jsonio, topics
from sinks.batcher import Batch
from sinks.rows import SPECS_BY_TOPIC
from sinks.writer import write_batch
from streams.config import StreamConfig
from streams.stage_enrich import process_events

CONFIG = StreamConfig.build()
E1, E2 = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"


class Msg(NamedTuple):
    offset: int
    value: bytes


def test_identity_records_fill_identities_and_identity_edges(own_ch, own_db) -> None:
    events = [
        {"event_id": E1, "ts": "2026-03-02T09:00:00Z", "type": "identify", "anonymous_id": "d1",
         "email": "ann@acme.example"},
        {"event_id": E2, "ts": "2026-03-02T10:00:00Z", "type": "crm_stage", "email": "ann@acme.example",
         "account_domain": "globex.example", "stage": "lead"},
    ]  # fmt: skip
    state: dict[str, bytes] = {}
    values = []
    for event in events:  # one batch each, the state written back between them as the agent does
        out = process_events(CONFIG, [jsonio.dumps(event)], state.get)
        state.update({k: v for k, (v, _) in out.writes.items() if v is not None})
        values += [v for t, _, v in out.sends if t == CONFIG.topics.identities]
    # A record of an older worker: no event_id / source.
    values.append(
        jsonio.dumps({"v": 1, "anonymous_id": "d0", "person_id": "p-old", "account_id": "",
                      "email": "", "updated_at": "2026-03-01T09:00:00Z"})
    )  # fmt: skip
    batch = Batch(SPECS_BY_TOPIC[topics.IDENTITIES], 10, 1.0)
    batch.add(TopicPartition(topics.IDENTITIES, 0), [Msg(i, v) for i, v in enumerate(values)])
    assert write_batch(own_ch, own_db, batch) == 4
    edges = own_ch.execute(
        "SELECT anonymous_id, person_id, account_id, event_id, source FROM identity_edges FINAL ORDER BY ALL"
    )
    assert sorted(edges) == [
        ("", "ann@acme.example", "acme.example", E1, "identify"),
        ("", "ann@acme.example", "globex.example", E2, "crm"),
        ("d0", "p-old", "", "", ""),
        ("d1", "ann@acme.example", "acme.example", E1, "identify"),
    ]
    # identities keeps the latest per (person_id, anonymous_id); the log keeps both account edges.
    assert own_ch.execute(
        "SELECT anonymous_id, account_id, source FROM identities FINAL WHERE person_id = 'ann@acme.example' "
        "ORDER BY anonymous_id"
    ) == [("", "globex.example", "crm"), ("d1", "acme.example", "identify")]
