"""Identity guards and undo in SQL (issue 18): shared devices, held links, revocations, identity_flags,
and `touchstream identity split / unlink / relink` over a hand-built graph.

Applied links go into ``identities`` as the sink writes them (the merge log ``identity_edges`` follows
by the materialized view of 0010); held links straight into ``identity_edges`` as the sink writes
``touchstream.identity-held``; revocations into ``identity_revocations``. The views use the bundled
guards (schemas/identity_guards.yaml): shared above 3 people in 30 days, flag above 3 accounts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client
from kafka import KafkaConsumer, TopicPartition
from typer.testing import CliRunner

from cli.main import app
from schemas import jsonio, topics
from schemas.guards import IdentityGuards
from sinks.client import connect
from sinks.erasure import Subject, erase
from sinks.migrate import apply_migrations
from sinks.view_files import apply_views
from streams.admin import ensure_topics

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ID_COLUMNS = "anonymous_id, person_id, account_id, email, updated_at, event_id, source"
HELD_COLUMNS = f"{ID_COLUMNS}, held"
TOUCH_COLUMNS = "event_id, ts, anonymous_id, person_id, account_id, type, channel, channel_category, is_bot"
REVOKE_COLUMNS = "kind, child, parent, revoked, at, reason, actor"


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def device(anon: str, person: str, days: float, account: str = "") -> tuple[Any, ...]:
    return (anon, person, account, "", at(days), f"e-{anon}-{person}-{days}", "identify")


def account(person: str, domain: str, days: float) -> tuple[Any, ...]:
    return ("", person, domain, "", at(days), f"e-{person}-{domain}-{days}", "crm")


def touch(event_id: str, days: float, anon: str, person: str = "", acct: str = "") -> tuple[Any, ...]:
    return (event_id, at(days), anon, person, acct, "page_view", "organic_search", "lead_gen", False)


IDENTITIES = [
    # (1) ds4: four people within four days -> shared; ds3: three -> not; dsp: four over four months -> not
    *[device("ds4", f"s{i}", i) for i in range(1, 5)],
    *[account(f"s{i}", "sh.example", i) for i in range(1, 5)],
    *[device("ds3", f"s{i}", i) for i in range(1, 4)],
    *[device("dsp", f"s{i}", 40 * i) for i in range(1, 5)],
    # (5) dsr: four people within the window, but (dsr, r1) is revoked -> not shared
    *[device("dsr", f"r{i}", i) for i in range(1, 5)],
    # (2) p-h on dh at hco.example; held: a role address on dh, a free-mail account of p-h (below)
    device("dh", "p-h", 1, "hco.example"),
    account("p-h", "hco.example", 1),
    # (3) p-m: old.example, then new.example; her device dm
    device("dm", "p-m", 1, "old.example"),
    account("p-m", "old.example", 1),
    account("p-m", "new.example", 5),
    # (4) dd: p-d1, then p-d2
    device("dd", "p-d1", 1),
    account("p-d1", "d1.example", 1),
    device("dd", "p-d2", 3),
    account("p-d2", "d2.example", 3),
    # (6) p-many: four accounts -> flagged (more than 3)
    *[account("p-many", f"a{i}.example", i) for i in range(1, 5)],
    # (7) the CLI's own edges
    device("dc", "p-c", 1, "c.example"),
    account("p-c", "c.example", 1),
]
HELD = [
    (
        "dh",
        "sales@acme2.example",
        "acme2.example",
        "sales@acme2.example",
        at(2),
        "e-h1",
        "form",
        "role_address",
    ),
    ("", "p-h", "gmail.com", "", at(3), "e-h2", "identify", "free_mail_domain"),
    # A role address held on the kiosk is no person: it does not count toward shared.
    ("ds4", "info@kiosk.example", "kiosk.example", "", at(5), "e-h3", "identify", "role_address"),
]
REVOKED = [("device", "dsr", "r1", 1, at(10), "test", "")]
TOUCHES = [
    touch("t-ds4", 6, "ds4", "s4"),  # the row names s4 (stage 1 knew her then), no account
    touch("t-ds4a", 6, "ds4", "", "kiosk.example"),  # the row carries an account: a shared device's goes too
    touch("t-ds3", 6, "ds3"),
    touch("t-dh", 6, "dh", "", "acme2.example"),
    touch("t-dm", 6, "dm"),
    touch("t-dd", 6, "dd", "p-d2", "d2.example"),  # stage 1 stamped p-d2 and her account
]
CONVERSIONS = [
    ("cv-old", at(7), "old.example", "lead", 0.0, "p-m"),
    ("cv-new", at(7), "new.example", "lead", 0.0, "p-m"),
]


@pytest.fixture(scope="module")
def database(clickhouse_url: str) -> Iterator[str]:
    name = f"ts_guards_{uuid.uuid4().hex[:10]}"
    apply_migrations(connect(clickhouse_url), name)
    db = connect(clickhouse_url, database=name)
    db.execute(f"INSERT INTO identities ({ID_COLUMNS}) VALUES", IDENTITIES)
    db.execute(f"INSERT INTO identity_edges ({HELD_COLUMNS}) VALUES", HELD)
    db.execute(f"INSERT INTO identity_revocations ({REVOKE_COLUMNS}) VALUES", REVOKED)
    db.execute(f"INSERT INTO touchpoints ({TOUCH_COLUMNS}) VALUES", TOUCHES)
    db.execute(
        "INSERT INTO conversions (conversion_id, ts, account_id, stage, amount, person_id) VALUES",
        CONVERSIONS,
    )
    yield name
    connect(clickhouse_url).execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def ch(clickhouse_url: str, database: str) -> Client:
    return connect(clickhouse_url, database=database)


def people(ch: Client) -> dict[str, str]:
    return dict(ch.execute("SELECT anonymous_id, resolved_person FROM device_people"))


def accounts(ch: Client) -> dict[str, str]:
    return dict(ch.execute("SELECT person_id, resolved_account FROM person_accounts"))


def journeys(ch: Client) -> dict[str, tuple[str, str]]:
    rows = ch.execute("SELECT event_id, person_id, account_id FROM account_journeys")
    return {e: (p, a) for e, p, a in rows}


def revoke(ch: Client, kind: str, child: str, parent: str, revoked: int, days: float) -> None:
    ch.execute(f"INSERT INTO identity_revocations ({REVOKE_COLUMNS}) VALUES",
               [(kind, child, parent, revoked, at(days), "", "")])  # fmt: skip


SNAPSHOT = (
    "SELECT * FROM account_journeys ORDER BY event_id",
    "SELECT * FROM device_people ORDER BY ALL",
    "SELECT * FROM person_accounts ORDER BY ALL",
    "SELECT * FROM account_first_touches ORDER BY ALL",
    "SELECT * FROM identity_flags ORDER BY ALL",
    "SELECT conversion_id, event_id, model, credit FROM rule_credits_between(stage = 'lead', "
    "since = '2026-03-01', until = '2026-04-01', lookback_days = 90, lead_gen_days = 30, half_life_days = 7) "
    "ORDER BY ALL",
)


def snapshot(ch: Client) -> list[list[tuple[Any, ...]]]:
    return [ch.execute(sql) for sql in SNAPSHOT]


def test_shared_device_links_nobody(ch: Client) -> None:
    devices = people(ch)
    assert "ds4" not in devices  # four people in four days (and a held role address: no person)
    assert devices["ds3"] == "s3" and devices["dsp"] == "s4"  # three people; four over four months
    flags = ch.execute(
        "SELECT kind, id, count, first_at, last_at FROM identity_flags WHERE kind = 'shared_device'"
    )
    assert flags == [("shared_device", "ds4", 4, at(1), at(4))]
    routes = journeys(ch)
    # The row names s4, but the device is shared: no person, and no account (the stream keeps a shared
    # device's touches on the device).
    assert routes["t-ds4"] == ("", "") and routes["t-ds4a"] == ("", "")
    assert routes["t-ds3"] == ("s3", "sh.example")
    explained = explain(ch, "t-ds4")
    assert (explained["person_id"], explained["account_id"]) == ("", "")
    assert explained["reason"].startswith("device ds4 is shared")


def test_revoked_pairs_do_not_count_toward_shared(ch: Client) -> None:
    assert people(ch)["dsr"] == "r4"
    revoke(ch, "device", "dsr", "r1", 0, 11)  # relinked: four people again -> shared
    try:
        assert "dsr" not in people(ch)
        assert ("shared_device", "dsr") in {
            (k, i) for k, i in ch.execute("SELECT kind, id FROM identity_flags")
        }
    finally:
        revoke(ch, "device", "dsr", "r1", 1, 12)
    assert people(ch)["dsr"] == "r4"


def test_held_links_change_nothing(ch: Client) -> None:
    held = ch.execute(
        "SELECT held, count() FROM identity_edges FINAL WHERE held != '' GROUP BY held ORDER BY held"
    )
    assert held == [("free_mail_domain", 1), ("role_address", 2)]
    assert ch.execute("SELECT count() FROM identities WHERE person_id = 'sales@acme2.example'") == [(0,)]
    assert people(ch)["dh"] == "p-h" and accounts(ch)["p-h"] == "hco.example"
    assert "sales@acme2.example" not in accounts(ch)
    assert journeys(ch)["t-dh"] == ("p-h", "hco.example")


def test_unlink_falls_back_to_the_earlier_account_and_relink_restores(ch: Client) -> None:
    before = snapshot(ch)
    assert accounts(ch)["p-m"] == "new.example" and journeys(ch)["t-dm"] == ("p-m", "new.example")
    credited = (
        "SELECT DISTINCT conversion_id FROM rule_credits_between(stage = 'lead', since = '2026-03-01', "
        "until = '2026-04-01', lookback_days = 90, lead_gen_days = 30, half_life_days = 7) "
        "WHERE event_id = 't-dm'"
    )
    assert ch.execute(credited) == [("cv-new",)]
    revoke(ch, "account", "p-m", "new.example", 1, 20)
    assert accounts(ch)["p-m"] == "old.example" and journeys(ch)["t-dm"] == ("p-m", "old.example")
    assert ch.execute(credited) == [("cv-old",)]
    assert explain(ch, "t-dm")["account_id"] == "old.example"
    revoke(ch, "account", "p-m", "old.example", 1, 21)  # no account left: unresolved
    assert "p-m" not in accounts(ch) and journeys(ch)["t-dm"] == ("p-m", "")
    revoke(ch, "account", "p-m", "old.example", 0, 22)
    revoke(ch, "account", "p-m", "new.example", 0, 23)
    assert snapshot(ch) == before


def test_split_falls_back_to_the_earlier_person_and_relink_restores(ch: Client) -> None:
    before = snapshot(ch)
    assert people(ch)["dd"] == "p-d2" and journeys(ch)["t-dd"] == ("p-d2", "d2.example")
    revoke(ch, "device", "dd", "p-d2", 1, 20)
    assert people(ch)["dd"] == "p-d1"
    # The row named p-d2 (and carried her account): the revoked edge no longer puts it there.
    assert journeys(ch)["t-dd"] == ("p-d1", "d1.example")
    assert explain(ch, "t-dd")["account_id"] == "d1.example"
    revoke(ch, "device", "dd", "p-d1", 1, 21)  # no person left; the row's account went with its person
    assert "dd" not in people(ch) and journeys(ch)["t-dd"] == ("", "")
    revoke(ch, "device", "dd", "p-d1", 0, 22)
    revoke(ch, "device", "dd", "p-d2", 0, 23)
    assert snapshot(ch) == before


def test_person_many_accounts_flag(ch: Client) -> None:
    flagged = "SELECT id, count, first_at, last_at FROM identity_flags WHERE kind = 'person_many_accounts'"
    assert ch.execute(flagged) == [("p-many", 4, at(1), at(4))]
    revoke(ch, "account", "p-many", "a2.example", 1, 30)
    try:
        assert ch.execute(flagged) == []
    finally:
        revoke(ch, "account", "p-many", "a2.example", 0, 31)


def test_guard_numbers_come_from_the_guard_file(ch: Client, database: str) -> None:
    try:
        apply_views(ch, database, IdentityGuards(shared_max_people=0, person_max_accounts=0))
        assert people(ch)["ds4"] == "s4" and ch.execute("SELECT count() FROM identity_flags") == [(0,)]
        apply_views(ch, database, IdentityGuards(shared_max_people=2, shared_window_s=86_400.0 * 60))
        assert "ds3" not in people(ch) and "dsp" in people(ch)  # 3 people > 2; 3 over 80 days > 60
    finally:
        apply_views(ch, database)
    assert "ds4" not in people(ch)


def test_match_rate_counts_shared_devices_and_held_links(ch: Client) -> None:
    sql = "SELECT shared_devices, held_edges FROM identity_match_rate(since = %(s)s, until = %(u)s)"
    assert ch.execute(sql, {"s": "2026-03-01", "u": "2026-04-01"}) == [(1, 3)]
    assert ch.execute(sql, {"s": "2026-05-01", "u": "2026-06-01"}) == [(0, 0)]


# --- the CLI -----------------------------------------------------------------------------------------


def run(clickhouse_url: str, database: str, home: Path, *args: str, bootstrap: str = "") -> Any:
    env = {
        "TOUCHSTREAM_CLICKHOUSE_URL": clickhouse_url,
        "TOUCHSTREAM_CLICKHOUSE_DATABASE": database,
        "TOUCHSTREAM_HOME": str(home),
        "TOUCHSTREAM_KAFKA_BOOTSTRAP": bootstrap,
        "COLUMNS": "200",
    }
    return CliRunner().invoke(app, ["identity", *args], env=env)


def explain(ch: Client, event_id: str) -> dict[str, Any]:
    from reports.identity import explain_touch
    from reports.queries import Reader

    found = explain_touch(Reader(ch, ch.connection.database), event_id)
    assert found is not None
    return found.as_dict()


def commands(bootstrap: str, topic: str, key: str, expected: int, timeout_s: float = 15.0) -> list[Any]:
    """The values of ``topic``'s records keyed ``key`` once ``expected`` of them arrived."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=500)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        found: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while len(found) < expected and time.monotonic() < deadline:
            for record in consumer:
                if record.key == key.encode():
                    found.append(jsonio.loads(record.value))
        return found
    finally:
        consumer.close()


def test_cli_split_unlink_relink(
    clickhouse_url: str, database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, 1, [topics.EVENTS, topics.BY_ACCOUNT])
    ch = connect(clickhouse_url, database=database)
    split = run(clickhouse_url, database, tmp_path, "split", "--device", "dc", "--person", "p-c",
                "--reason", "a shared laptop", "--format", "json", bootstrap=kafka_bootstrap)  # fmt: skip
    assert split.exit_code == 0, split.output
    row = jsonio.loads(split.output)
    assert {k: row[k] for k in ("kind", "child", "parent", "revoked", "reason")} == {
        "kind": "device", "child": "dc", "parent": "p-c", "revoked": 1,
        "reason": "a shared laptop"}  # fmt: skip
    assert "dc" not in people(ch)
    sent = commands(kafka_bootstrap, topics.EVENTS, "dc", 1)
    assert sent[:1] == [{"$control": "revoke", "anonymous_id": "dc", "person": "p-c", "revoked": True}]

    unlink = run(clickhouse_url, database, tmp_path, "unlink", "--person", "p-c", "--account", "C.example",
                 bootstrap=kafka_bootstrap)  # fmt: skip
    assert unlink.exit_code == 0, unlink.output
    assert "revoked person p-c -> account c.example" in unlink.output and "credits" in unlink.output
    assert "p-c" not in accounts(ch)
    assert commands(kafka_bootstrap, topics.BY_ACCOUNT, "p:p-c", 1)[:1] == [[["r", "a:c.example", True]]]

    shown = run(clickhouse_url, database, tmp_path, "show", "p-c", "--format", "json")
    assert shown.exit_code == 0, shown.output
    graph = jsonio.loads(shown.output)
    marks = {
        (e["kind"], e["child"], e["parent"]): (e["revoked"], e["revoked_reason"], e["current"])
        for e in graph["edges"]
    }
    assert marks == {("device", "dc", "p-c"): (True, "a shared laptop", False),
                     ("account", "p-c", "c.example"): (True, "", False)}  # fmt: skip
    assert graph["devices"] == [{"anonymous_id": "dc", "person_id": ""}]
    table = run(clickhouse_url, database, tmp_path, "show", "p-c")
    assert "revoked" in table.output and "a shared laptop" in table.output

    relink = run(clickhouse_url, database, tmp_path, "relink", "--device", "dc", "--person", "p-c",
                 bootstrap=kafka_bootstrap)  # fmt: skip
    assert relink.exit_code == 0, relink.output
    relink = run(clickhouse_url, database, tmp_path, "relink", "--person", "p-c", "--account", "c.example",
                 bootstrap=kafka_bootstrap)  # fmt: skip
    assert relink.exit_code == 0, relink.output
    assert people(ch)["dc"] == "p-c" and accounts(ch)["p-c"] == "c.example"
    assert commands(kafka_bootstrap, topics.EVENTS, "dc", 2)[1]["revoked"] is False
    latest = "SELECT kind, revoked FROM identity_revocations FINAL WHERE child IN ('dc', 'p-c') ORDER BY kind"
    assert ch.execute(latest) == [("account", 0), ("device", 0)]


def test_cli_refuses_unknown_edges_and_a_missing_broker(
    clickhouse_url: str, database: str, tmp_path: Path
) -> None:
    ch = connect(clickhouse_url, database=database)
    count = "SELECT count() FROM identity_revocations"
    (before,) = ch.execute(count)
    unknown = run(clickhouse_url, database, tmp_path, "split", "--device", "dc", "--person", "p-nobody",
                  bootstrap="127.0.0.1:1")  # fmt: skip
    assert unknown.exit_code == 2 and "device dc -> person p-nobody" in unknown.output
    held = run(clickhouse_url, database, tmp_path, "unlink", "--person", "p-h", "--account", "gmail.com",
               bootstrap="127.0.0.1:1")  # fmt: skip
    assert held.exit_code == 2  # a held link is no applied edge
    usage = run(clickhouse_url, database, tmp_path, "relink", "--person", "p-c")
    assert usage.exit_code == 2
    down = run(clickhouse_url, database, tmp_path, "split", "--device", "dc", "--person", "p-c",
               bootstrap="127.0.0.1:1")  # fmt: skip
    assert down.exit_code == 1 and "nothing changed" in down.output
    assert ch.execute(count) == [before]


def test_show_lists_held_edges_and_flags(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    graph = jsonio.loads(run(clickhouse_url, database, tmp_path, "show", "p-h", "--format", "json").output)
    held = {(e["kind"], e["child"], e["parent"], e["held"]) for e in graph["edges"] if e["held"]}
    assert held == {("device", "dh", "sales@acme2.example", "role_address"),
                    ("account", "p-h", "gmail.com", "free_mail_domain")}  # fmt: skip
    assert [p["person_id"] for p in graph["people"]] == ["p-h"] and graph["people"][0][
        "account_id"
    ] == "hco.example"
    assert [a["account_id"] for a in graph["accounts"]] == ["hco.example"]
    shared = jsonio.loads(run(clickhouse_url, database, tmp_path, "show", "ds4", "--format", "json").output)
    assert {"kind": "shared_device", "id": "ds4", "count": 4, "first_at": "2026-03-03T09:00:00.000Z",
            "last_at": "2026-03-06T09:00:00.000Z"} in shared["flags"]  # fmt: skip
    assert {d["anonymous_id"]: d["person_id"] for d in shared["devices"]}["ds4"] == ""
    many = jsonio.loads(run(clickhouse_url, database, tmp_path, "show", "p-many", "--format", "json").output)
    assert [(f["kind"], f["count"]) for f in many["flags"]] == [("person_many_accounts", 4)]


def test_forget_erases_revocations_and_held_links(ch: Client, database: str) -> None:
    """Last in this module: it erases p-c and p-h."""
    found = erase(ch, database, Subject(person_id="p-c"))
    assert found.deleted["identity_revocations"] >= 2  # split + relink of two edges, perhaps merged
    assert ch.execute("SELECT count() FROM identity_revocations WHERE child IN ('dc', 'p-c')") == [(0,)]
    found = erase(ch, database, Subject(person_id="p-h"))
    assert found.anonymous_ids == ["dh"]  # the role address on dh links nobody else
    assert ch.execute(
        "SELECT count() FROM identity_edges WHERE anonymous_id = 'dh' OR person_id = 'p-h'"
    ) == [(0,)]
