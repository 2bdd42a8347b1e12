"""`touchstream identity show / why` and identity_match_rate over a hand-built identity graph.

Rows go into ``identities`` as the sink writes them; the merge log ``identity_edges`` is filled by the
materialized view of migration 0010. The graph: Ann (person p-ann) uses two devices, identifies on d1
(acme), submits a form on d2 (acme), then the CRM moves her to globex; Bob's device d9 is unrelated;
d0 never identified.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from schemas import jsonio
from sinks.client import connect
from sinks.erasure import Subject, erase
from sinks.migrate import apply_migrations

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ID_COLUMNS = "anonymous_id, person_id, account_id, email, updated_at, event_id, source"
TOUCH_COLUMNS = "event_id, ts, anonymous_id, person_id, account_id, type, channel, channel_category, is_bot"
CREDIT_COLUMNS = "conversion_id, stage, model, event_id, account_id, channel, credit, conversion_ts"
ANN = "ann@acme.example"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def iso(hours: float) -> str:
    return at(hours).isoformat(timespec="milliseconds").replace("+00:00", "Z")


IDENTITIES = [
    # e1: identify on d1 at acme -> device edge and account edge
    ("d1", "p-ann", "acme.example", ANN, at(1), "e1", "identify"),
    ("", "p-ann", "acme.example", ANN, at(1), "e1", "identify"),
    # e2: form on d2, still acme
    ("d2", "p-ann", "acme.example", ANN, at(2), "e2", "form"),
    ("", "p-ann", "acme.example", ANN, at(2), "e2", "form"),
    # e3: the CRM moves Ann to globex (a person-only event: no device edge)
    ("", "p-ann", "globex.example", ANN, at(3), "e3", "crm"),
    # Bob, unrelated
    ("d9", "p-bob", "initech.example", "bob@initech.example", at(1), "e9", "identify"),
    ("", "p-bob", "initech.example", "bob@initech.example", at(1), "e9", "identify"),
]
TOUCHES = [
    ("t1", at(0.5), "d1", "", "", "page_view", "organic_search", "lead_gen", False),  # before identify
    ("t2", at(2.5), "d2", "p-ann", "acme.example", "page_view", "paid_search", "lead_gen", False),
    ("t0", at(0.5), "d0", "", "", "page_view", "direct", "direct", False),  # never identified
    ("tb", at(0.5), "d1", "", "", "page_view", "direct", "direct", True),  # a bot: not a touch
    ("tm", at(0.5), "", "", "", "mention", "other", "demand_gen", False),  # nobody's mention: left out
]
WON = at(4)
CREDITS = [
    # c1: two touches (linear), the first model's row is not read
    ("c1", "lead", "linear", "t1", "globex.example", "organic_search", 0.5, WON),
    ("c1", "lead", "linear", "t2", "globex.example", "paid_search", 0.5, WON),
    ("c1", "lead", "first", "t1", "globex.example", "organic_search", 1.0, WON),
    # c2: no touch in its window: the (none) row only
    ("c2", "opportunity", "linear", "", "initech.example", "(none)", 1.0, WON),
    # c3: its one touch was retracted (credit 0), so (none) holds the credit again
    ("c3", "lead", "linear", "t0", "initech.example", "direct", 0.0, WON),
    ("c3", "lead", "linear", "", "initech.example", "(none)", 1.0, WON),
    # outside the period
    ("c4", "lead", "linear", "t1", "globex.example", "organic_search", 1.0, at(24 * 40)),
]


def edge(
    kind: str, child: str, parent: str, source: str, event: str, hours: float, current: bool, **more: Any
) -> dict[str, Any]:
    return {"kind": kind, "child": child, "parent": parent, "source": source, "event_id": event,
            "at": iso(hours), "current": current, "held": "", "revoked": False, "revoked_reason": "",
            "revoked_at": None, **more}  # fmt: skip


ANN_EDGES = [
    edge("device", "d1", "p-ann", "identify", "e1", 1, True),
    edge("device", "d2", "p-ann", "form", "e2", 2, True),
    edge("account", "p-ann", "acme.example", "identify", "e1", 1, False),
    edge("account", "p-ann", "acme.example", "form", "e2", 2, False),
    edge("account", "p-ann", "globex.example", "crm", "e3", 3, True),
]
ANN_GRAPH = {
    "devices": [{"anonymous_id": "d1", "person_id": "p-ann"}, {"anonymous_id": "d2", "person_id": "p-ann"}],
    "people": [{"person_id": "p-ann", "email": ANN, "account_id": "globex.example"}],
    "accounts": [{"account_id": "acme.example", "people": 0}, {"account_id": "globex.example", "people": 1}],
    "edges": ANN_EDGES,
    "flags": [],
}


@pytest.fixture(scope="module")
def database(clickhouse_url: str) -> Iterator[str]:
    name = f"ts_identity_{uuid.uuid4().hex[:10]}"
    apply_migrations(connect(clickhouse_url), name)
    db = connect(clickhouse_url, database=name)
    db.execute(f"INSERT INTO identities ({ID_COLUMNS}) VALUES", IDENTITIES)
    db.execute(f"INSERT INTO identities ({ID_COLUMNS}) VALUES", IDENTITIES[:2])  # a redelivery
    db.execute(f"INSERT INTO touchpoints ({TOUCH_COLUMNS}) VALUES", TOUCHES)
    db.execute(f"INSERT INTO attribution_credits ({CREDIT_COLUMNS}) VALUES", CREDITS)
    yield name
    connect(clickhouse_url).execute(f"DROP DATABASE IF EXISTS {name}")


def run(clickhouse_url: str, database: str, home: Path, *args: str) -> Any:
    env = {
        "TOUCHSTREAM_CLICKHOUSE_URL": clickhouse_url,
        "TOUCHSTREAM_CLICKHOUSE_DATABASE": database,
        "TOUCHSTREAM_HOME": str(home),
        "COLUMNS": "200",  # rich's tables: wide enough not to shorten ids
    }
    return CliRunner().invoke(app, ["identity", *args], env=env)


@pytest.mark.parametrize("query", [ANN, "p-ann", "d1", "d2", "acme.example", "globex.example"])
def test_show_prints_the_graph_around_any_of_its_ids(
    clickhouse_url: str, database: str, tmp_path: Path, query: str
) -> None:
    result = run(clickhouse_url, database, tmp_path, "show", query, "--format", "json")
    assert result.exit_code == 0, result.output
    assert jsonio.loads(result.output) == {"query": query, **ANN_GRAPH}


def test_show_unrelated_device_and_table(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    result = run(clickhouse_url, database, tmp_path, "show", "d9", "--format", "json")
    assert result.exit_code == 0, result.output
    graph = jsonio.loads(result.output)
    assert graph["people"] == [
        {"person_id": "p-bob", "email": "bob@initech.example", "account_id": "initech.example"}
    ]
    assert [(e["kind"], e["child"], e["parent"], e["current"]) for e in graph["edges"]] == [
        ("device", "d9", "p-bob", True),
        ("account", "p-bob", "initech.example", True),
    ]
    table = run(clickhouse_url, database, tmp_path, "show", ANN)
    assert table.exit_code == 0, table.output
    assert "2 devices, 1 people, 2 accounts" in table.output and "globex.example" in table.output


def test_show_nothing_found_exits_2(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    result = run(clickhouse_url, database, tmp_path, "show", "nobody@nowhere.example")
    assert result.exit_code == 2
    assert "no identity edge names 'nobody@nowhere.example'" in result.output


def test_why_follows_device_then_person_to_the_current_account(
    clickhouse_url: str, database: str, tmp_path: Path
) -> None:
    result = run(clickhouse_url, database, tmp_path, "why", "--event", "t1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert jsonio.loads(result.output) == {
        "event_id": "t1",
        "ts": iso(0.5),
        "anonymous_id": "d1",
        "person_id": "p-ann",
        "account_id": "globex.example",
        "resolved": True,
        "edges": [ANN_EDGES[0], ANN_EDGES[4]],
        "reason": "device d1 is linked to person p-ann; person p-ann is linked to account globex.example",
    }
    # The touch named Ann at acme when it happened; it now belongs to her current account.
    named = jsonio.loads(
        run(clickhouse_url, database, tmp_path, "why", "--event", "t2", "--format", "json").output
    )
    assert named["account_id"] == "globex.example" and named["edges"] == [ANN_EDGES[1], ANN_EDGES[4]]
    assert named["reason"].startswith("the touch names person p-ann;")
    # Same answer as account_journeys.
    ch = connect(clickhouse_url, database=database)
    journeys = "SELECT event_id, account_id FROM account_journeys WHERE event_id IN ('t1', 't2') ORDER BY ALL"
    assert ch.execute(journeys) == [("t1", "globex.example"), ("t2", "globex.example")]


def test_why_says_unresolved_and_unknown(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    result = run(clickhouse_url, database, tmp_path, "why", "--event", "t0", "--format", "json")
    assert result.exit_code == 0, result.output
    out = jsonio.loads(result.output)
    assert (out["resolved"], out["account_id"], out["edges"]) == (False, "", [])
    assert out["reason"] == "no edge links it to an account: unresolved"
    table = run(clickhouse_url, database, tmp_path, "why", "--event", "t0")
    assert "no account (unresolved)" in table.output
    missing = run(clickhouse_url, database, tmp_path, "why", "--event", "nope")
    assert missing.exit_code == 2 and "no touchpoint with event id 'nope'" in missing.output


def test_no_stack_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["identity", "show", ANN],
        env={"TOUCHSTREAM_HOME": str(tmp_path), "TOUCHSTREAM_CLICKHOUSE_URL": ""},
    )
    assert result.exit_code == 2, result.output


def test_match_rate_view(clickhouse_url: str, database: str) -> None:
    ch = connect(clickhouse_url, database=database)
    rows = ch.execute("SELECT * FROM identity_match_rate(since = '2026-03-01', until = '2026-04-01')")
    # touches t1, t2 (resolved: globex) and t0 (unresolved); the bot and nobody's mention are out.
    # conversions c1 (touched), c2 and c3 (the (none) row only); c4 is outside the period.
    assert rows == [(3, 2, pytest.approx(2 / 3), 3, 1, pytest.approx(1 / 3), 0, 0)]
    empty = ch.execute("SELECT * FROM identity_match_rate(since = '2020-01-01', until = '2020-02-01')")
    assert empty == [(0, 0, None, 0, 0, None, 0, 0)]


def test_kpis_show_the_match_rates(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    env = {"TOUCHSTREAM_CLICKHOUSE_URL": clickhouse_url, "TOUCHSTREAM_CLICKHOUSE_DATABASE": database,
           "TOUCHSTREAM_HOME": str(tmp_path), "COLUMNS": "200"}  # fmt: skip
    result = CliRunner().invoke(app, ["kpis", "--since", "2026-03-01", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    rows = {r["kpi"]: r for r in jsonio.loads(result.output) if r["group"] == "identity"}
    # Since March 1st: c4 (touched) is in the period too, so 2 of 4 conversions; 2 of 3 touches.
    assert {k: r["current"] for k, r in rows.items()} == {
        "touches resolved to an account": 0.6667,
        "conversions with a touch in their window": 0.5,
        "shared devices": 0,
        "identity links held back": 0,
    }
    table = CliRunner().invoke(app, ["kpis", "--since", "2026-03-01"], env=env)
    assert "Identity match rate" in table.output and "touches resolved to an account" in table.output


def test_show_in_an_80_column_terminal_keeps_every_id_whole(
    clickhouse_url: str, database: str, tmp_path: Path
) -> None:
    """Ids are copied from here into `identity split`: a narrow table drops event, source and time, never
    the ends of an id. (Before the forget test below, which erases Ann from the module's database.)"""
    env = {"TOUCHSTREAM_CLICKHOUSE_URL": clickhouse_url, "TOUCHSTREAM_CLICKHOUSE_DATABASE": database,
           "TOUCHSTREAM_HOME": str(tmp_path), "COLUMNS": "80"}  # fmt: skip
    result = CliRunner().invoke(app, ["identity", "show", ANN], env=env)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    for edge in jsonio.loads(run(clickhouse_url, database, tmp_path, "show", ANN, "--format", "json").output)[
        "edges"
    ]:
        assert edge["child"] in result.output and edge["parent"] in result.output


def test_forget_erases_the_logged_edges(clickhouse_url: str, database: str) -> None:
    """Last in this module: it erases Ann."""
    ch = connect(clickhouse_url, database=database)
    ch.execute("OPTIMIZE TABLE identity_edges FINAL")  # the redelivered copies merged away: exact counts
    assert ch.execute("SELECT count() FROM identity_edges WHERE person_id = 'p-ann'") == [(5,)]
    found = erase(ch, database, Subject(email=ANN))
    assert found.person_ids == ["p-ann"] and found.anonymous_ids == ["d1", "d2"]
    assert found.deleted["identity_edges"] == 5
    assert ch.execute(
        "SELECT count() FROM identity_edges WHERE person_id = 'p-ann' OR has(['d1', 'd2'], anonymous_id)"
    ) == [(0,)]
    assert ch.execute("SELECT count() FROM identity_edges") == [(2,)]  # Bob's stay
