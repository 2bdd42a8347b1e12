"""touchstream forget removes every row of a person and their identity links, and reports counts."""

from __future__ import annotations

import sink_dataset as dataset
from typer.testing import CliRunner

from cli.main import app
from sinks.erasure import Subject, erase


def test_forget_by_email_leaves_nothing_behind(own_ch, own_db):
    dataset.load(own_ch, duplicate=False)
    own_ch.execute(
        "INSERT INTO attribution_credits (conversion_id, stage, model, event_id, channel, credit) VALUES",
        [
            ("cw", "closed_won", "linear", "a1", "podcast", 0.5),
            ("cw", "closed_won", "linear", "g1", "paid_social", 0.5),
        ],
    )
    own_ch.execute(
        "INSERT INTO product_events (event_id, anonymous_id, name) VALUES", [("pe1", "anon-a", "x")]
    )
    own_ch.execute(
        "INSERT INTO self_reports (event_id, source, person_id, anonymous_id, answer, channel) VALUES",
        [
            ("sr1", "crm", "p-a", "", "a podcast", "podcast"),  # her CRM answer, by person
            ("sr2", "form", "", "anon-a", "linkedin", "organic_social"),  # her form answer, by device
            ("sr3", "crm", "p-g", "", "g2", "review_sites"),  # someone else's stays
        ],
    )
    result = erase(own_ch, own_db, Subject(email="Ann@acme.example"))
    assert result.person_ids == ["p-a"] and result.anonymous_ids == ["anon-a"]
    assert result.deleted == {
        "attribution_credits": 1,
        "touchpoints": 7,
        "touch_devices": 2,
        "product_events": 1,
        "self_reports": 2,
        "conversions": 5,
        "identities": 2,
        "identity_edges": 2,  # the merge log, fed from identities (0010)
        "identity_revocations": 0,  # split / unlink / relink of the person's edges (0013)
    }
    for table, column in [
        ("touchpoints", "anonymous_id"),
        ("touch_devices", "anonymous_id"),
        ("product_events", "anonymous_id"),
        ("identities", "anonymous_id"),
        ("identity_edges", "anonymous_id"),
    ]:
        assert own_ch.execute(f"SELECT count() FROM {table} WHERE {column} = 'anon-a'") == [(0,)]
    assert own_ch.execute(
        "SELECT count() FROM identities WHERE person_id = 'p-a' OR email ILIKE 'ann@%'"
    ) == [(0,)]
    assert own_ch.execute(
        "SELECT count() FROM identity_edges WHERE person_id = 'p-a' OR email ILIKE 'ann@%'"
    ) == [(0,)]
    assert own_ch.execute("SELECT count() FROM conversions WHERE person_id = 'p-a'") == [(0,)]
    assert own_ch.execute("SELECT event_id FROM attribution_credits") == [("g1",)]
    assert own_ch.execute("SELECT event_id FROM self_reports") == [("sr3",)]
    assert own_ch.execute("SELECT count() FROM touchpoints WHERE anonymous_id = 'anon-g'") == [
        (3,)
    ]  # others stay
    # acme's only person is gone, so acme has no first touch left; globex keeps its own.
    assert own_ch.execute("SELECT account_id, first_event_id FROM account_first_touches") == [
        ("globex.example", "g1")
    ]
    again = erase(own_ch, own_db, Subject(person_id="p-a"))
    assert again.total == 0


def test_forget_cli_reports_json(own_ch, own_db, clickhouse_url, monkeypatch):
    own_ch.execute(
        "INSERT INTO identities (anonymous_id, person_id, email) VALUES", [("anon-z", "p-z", "z@z.example")]
    )
    own_ch.execute(
        "INSERT INTO touchpoints (event_id, anonymous_id, type, channel, channel_category) VALUES",
        [
            ("z1", "anon-z", "page_view", "direct", "direct"),
            ("z2", "anon-z", "page_view", "direct", "direct"),
        ],
    )
    monkeypatch.setenv("TOUCHSTREAM_CLICKHOUSE_URL", clickhouse_url)
    monkeypatch.setenv("TOUCHSTREAM_CLICKHOUSE_DATABASE", own_db)
    out = CliRunner().invoke(app, ["forget", "--anonymous-id", "anon-z", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert '"touchpoints":2' in out.output and '"identities":1' in out.output and '"total":5' in out.output
    assert '"identity_edges":1' in out.output
    assert own_ch.execute("SELECT count() FROM touchpoints WHERE anonymous_id = 'anon-z'") == [(0,)]
