"""Every command against one real `touchstream up` (own keys, a Snowplow app id), as a user runs it.

The commands get only TOUCHSTREAM_HOME: they must find the stack through endpoints.json and never start
a second embedded server on its data.
"""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.integration.cli.running_up import ROOT, Up, base_env, cli, touchstream_up

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

WRITE_KEY, SITE_KEY, APP_ID = "it-write-key", "it-site-key", "web"
KEYS = {"TOUCHSTREAM_WRITE_KEYS": WRITE_KEY, "TOUCHSTREAM_SITE_KEYS": SITE_KEY}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    home = tmp_path_factory.mktemp("stack")
    with touchstream_up(home, env={**KEYS, "TOUCHSTREAM_SNOWPLOW_APP_IDS": f"{APP_ID},ios"}) as up:
        yield up


def _ts(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def _send(up: Up, events: list[dict[str, Any]]) -> None:
    reply = httpx.post(
        up.endpoints["collector"] + "/v1/batch", json=events, headers={"X-Write-Key": WRITE_KEY}, timeout=30
    )
    assert reply.status_code == 200 and reply.json()["accepted"] == len(events), reply.text


def _person(up: Up, email: str) -> tuple[str, list[str]]:
    """A device that read three pages and identified as ``email``; waits until ClickHouse has it."""
    anon = str(uuid.uuid4())
    utm = {"source": "linkedin", "medium": "paid_social"}
    views: list[dict[str, Any]] = [
        {"event_id": str(uuid.uuid4()), "type": "page_view", "ts": _ts(10 - i), "anonymous_id": anon,
         "context": {"url": f"https://example.com/p/{i}"}, "utm": utm}
        for i in range(3)
    ]  # fmt: skip
    ident = {"event_id": str(uuid.uuid4()), "type": "identify", "ts": _ts(5), "anonymous_id": anon,
             "email": email, "account_domain": email.split("@")[1]}  # fmt: skip
    _send(up, [*views, ident])
    ids = [str(v["event_id"]) for v in views]
    up.poll(
        "the person's touchpoints and identity",
        lambda: (
            (
                up.scalar(
                    "SELECT uniqExact(event_id) FROM touchpoints FINAL WHERE event_id IN %(i)s", {"i": ids}
                )
                == 3
                and up.scalar("SELECT count() FROM identities FINAL WHERE anonymous_id = %(a)s", {"a": anon})
                > 0
            )
            or None
        ),
    )
    return anon, ids


def test_forget_erases_on_the_running_stack(stack: Up) -> None:
    anon, ids = _person(stack, "ann@forget-me.example")
    keep_anon, keep_ids = _person(stack, "bob@forget-me.example")
    result = cli(stack.home, "forget", "--email", "ann@forget-me.example", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["anonymous_ids"] == [anon]
    assert report["deleted"]["touchpoints"] >= 3 and report["stream_commands"] > 0
    touches = "SELECT count() FROM touchpoints FINAL WHERE event_id IN %(i)s"
    assert stack.scalar(touches, {"i": ids}) == 0
    assert stack.scalar("SELECT count() FROM identities FINAL WHERE anonymous_id = %(a)s", {"a": anon}) == 0
    assert stack.scalar(touches, {"i": keep_ids}) == 3  # a colleague stays
    assert stack.proc.poll() is None


@pytest.mark.parametrize(
    "args",
    [
        ("kpis", "--since", "7d", "--format", "json"),
        ("velocity", "--format", "json"),
        ("report", "--model", "linear", "--format", "json"),
        ("momentum", "--weeks", "4", "--compare", "2", "--format", "json"),
        ("self-reported", "--format", "json"),
        ("mix", "--format", "json"),
        ("migrate",),
        ("topics",),
        ("monitor", "--once"),
        ("demo", "--accounts", "2", "--days", "3", "--rate", "0"),
    ],
    ids=lambda a: a[0],
)
def test_every_command_finds_the_running_stack(stack: Up, args: tuple[str, ...]) -> None:
    result = cli(stack.home, *args, env=KEYS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if args[0] in ("kpis", "velocity", "report", "momentum", "self-reported", "mix"):
        json.loads(result.stdout)
    if args[0] == "migrate":
        assert "schema is up to date" in result.stdout
    if args[0] == "topics":
        assert "created 0 topic(s)" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("sql", "SELECT 1"),
        ("kpis",),
        ("velocity",),
        ("report",),
        ("momentum",),
        ("mix",),
        ("monitor", "--once"),
        ("forget", "--email", "a@b.example"),
        ("topics",),
        ("demo", "--accounts", "1"),
    ],
    ids=lambda a: a[0],
)
def test_without_a_stack_every_command_says_so(tmp_path: Path, args: tuple[str, ...]) -> None:
    # In-process (no stack to talk to, so nothing a subprocess would add but ~5 s of imports each).
    env = {k: "" for k in ("CLICKHOUSE_URL", "KAFKA_BOOTSTRAP", "COLLECTOR_URL")}
    env = {f"TOUCHSTREAM_{k}": v for k, v in env.items()} | {"TOUCHSTREAM_HOME": str(tmp_path / "nothing")}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    expected = "no running collector" if args[0] == "demo" else "no running stack"
    assert expected in result.stderr and "start `touchstream up`" in result.stderr, result.stderr


def test_sql_runs_as_the_analyst_in_every_format(stack: Up, tmp_path: Path) -> None:
    _person(stack, "cid@sql.example")
    count = stack.scalar("SELECT count() FROM touchpoints FINAL")
    query = "SELECT count() AS n, currentUser() AS who FROM touchpoints FINAL"
    as_json = cli(stack.home, "sql", query, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [{"n": count, "who": "analyst"}]
    as_csv = cli(stack.home, "sql", query, "--format", "csv")
    assert as_csv.stdout.splitlines() == ["n,who", f"{count},analyst"]
    table = cli(stack.home, "sql", query)
    assert table.returncode == 0 and "analyst" in table.stdout and "1 row(s)" in table.stdout
    script = tmp_path / "q.sql"
    script.write_text("-- two statements; the second spans lines\nSELECT 1 AS a;\nSELECT\n  'x;y' AS b;\n")
    from_file = cli(stack.home, "sql", "--file", str(script), "--format", "csv")
    assert from_file.stdout.splitlines() == ["a", "1", "b", "x;y"], from_file.stderr
    prompt = cli(
        stack.home, "sql", "--format", "csv", stdin="SELECT 2\n AS c;\nSELECT 3 AS d;\nexit\nSELECT 4;\n"
    )
    assert prompt.returncode == 0 and prompt.stdout.splitlines() == ["c", "2", "d", "3"], prompt.stderr


def test_sql_errors_are_clickhouse_messages_with_exit_1(stack: Up) -> None:
    missing = cli(stack.home, "sql", "SELECT * FROM no_such_table")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("error: Code: 60.") and "no_such_table" in missing.stderr
    write = cli(stack.home, "sql", "DROP TABLE touchpoints")
    assert write.returncode == 1 and "readonly" in write.stderr, write.stderr
    assert stack.scalar("SELECT count() FROM system.tables WHERE name = 'touchpoints'") == 1
    prompt = cli(stack.home, "sql", stdin="SELECT * FROM nope;\nSELECT 5 AS e;\n", env={})
    assert prompt.returncode == 1 and "nope" in prompt.stderr and "5" in prompt.stdout


def test_demo_sends_with_the_configured_keys(stack: Up) -> None:
    before = stack.scalar("SELECT count() FROM touchpoints FINAL")
    sent = cli(stack.home, "demo", "--accounts", "3", "--days", "5", "--rate", "0", "--seed", "11", env=KEYS)
    assert sent.returncode == 0, sent.stderr
    assert "accepted" in sent.stderr and "0 rejected" in sent.stderr
    stack.poll(
        "demo touchpoints", lambda: stack.scalar("SELECT count() FROM touchpoints FINAL") > before or None
    )
    dev_keys = cli(stack.home, "demo", "--accounts", "1", "--days", "2", "--rate", "0")  # keys not set
    assert dev_keys.returncode == 1 and "answered 401" in dev_keys.stderr
    assert "TOUCHSTREAM_WRITE_KEYS" in dev_keys.stderr and "Traceback" not in dev_keys.stderr


def test_snowplow_app_id_is_a_site_identity(stack: Up) -> None:
    tp2 = stack.endpoints["collector"] + "/com.snowplowanalytics.snowplow/tp2"
    eid = str(uuid.uuid4())
    body: dict[str, Any] = {"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
            "data": [{"e": "pv", "eid": eid, "aid": APP_ID, "duid": str(uuid.uuid4()), "p": "web",
                      "url": "https://www.example.com/pricing?utm_source=podcast&utm_medium=audio",
                      "dtm": str(int(datetime.now(UTC).timestamp() * 1000))}]}  # fmt: skip
    accepted = httpx.post(tp2, json=body, headers={"Origin": "https://www.example.com"}, timeout=30)
    assert accepted.status_code == 200 and accepted.json()["accepted"] == 1, accepted.text
    unknown = {**body, "data": [{**body["data"][0], "eid": str(uuid.uuid4()), "aid": "android"}]}
    assert httpx.post(tp2, json=unknown, timeout=30).status_code == 401
    stack.poll(
        "the Snowplow page view",
        lambda: (
            stack.scalar("SELECT count() FROM touchpoints FINAL WHERE event_id = %(e)s", {"e": eid}) or None
        ),
    )


def test_sql_prompt_on_a_terminal(stack: Up) -> None:
    """No query on a terminal: a prompt that reads until ';', runs, shows errors and goes on until exit."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: `touchstream sql` on a terminal, as a user starts it
        try:
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "cli.main", "sql"], base_env(stack.home))
        finally:
            os._exit(127)
    seen = b""

    def until(marker: bytes, timeout_s: float = 90) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout_s
        while marker not in seen:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            if select.select([fd], [], [], 0.2)[0]:
                seen += os.read(fd, 4096)

    until(b"touchstream> ")
    os.write(fd, b"SELECT 40 + 2 AS answer,\n")
    until(b"-> ")
    os.write(fd, b"  'two lines' AS how;\n")
    until(b"two lines \xe2\x94\x82")  # the table row (a box-drawing bar follows the cell)
    os.write(fd, b"SELECT nope;\n")
    until(b"Unknown expression identifier")
    os.write(fd, b"exit\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"42" in seen and b"Traceback" not in seen


def test_a_stopped_home_only_migrates(tmp_path: Path) -> None:
    """No `up` running: migrate starts the embedded ClickHouse on the home for itself; the rest say so."""
    home = tmp_path / "stopped"
    first = cli(home, "migrate")
    assert first.returncode == 0 and "applied 0001" in first.stdout, first.stdout + first.stderr
    again = cli(home, "migrate")
    assert again.returncode == 0 and "schema is up to date" in again.stdout, again.stdout + again.stderr
    forget = cli(home, "forget", "--email", "ann@stopped.example")
    assert forget.returncode == 2 and "no running stack" in forget.stderr, forget.stderr
    assert not (home / "endpoints.json").exists()


def test_report_sets_spend_against_credit(stack: Up) -> None:
    # A campaign of its own (the stack is shared): two tagged visits, an identify and an MQL, and
    # what the campaign cost today, sent to /v1/spend as an ad platform export would be.
    campaign, anon = f"spend-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    utm = {"source": "linkedin", "medium": "paid_social", "campaign": campaign}
    domain = f"{campaign}.example"
    events: list[dict[str, Any]] = [
        *({"event_id": str(uuid.uuid4()), "type": "page_view", "ts": _ts(9 - i), "anonymous_id": anon,
           "context": {"url": f"https://example.com/p/{i}"}, "utm": utm} for i in range(2)),
        {"event_id": str(uuid.uuid4()), "type": "identify", "ts": _ts(5), "anonymous_id": anon,
         "email": f"ann@{domain}", "account_domain": domain},
        {"event_id": str(uuid.uuid4()), "type": "crm_stage", "ts": _ts(4), "stage": "mql",
         "email": f"ann@{domain}", "account_domain": domain},
    ]  # fmt: skip
    _send(stack, events)
    spend = [{"date": datetime.now(UTC).date().isoformat(), "channel": "paid_social", "campaign": campaign,
              "cost": 250.0, "currency": "USD"}]  # fmt: skip
    reply = httpx.post(
        stack.endpoints["collector"] + "/v1/spend", json=spend, headers={"X-Write-Key": WRITE_KEY}, timeout=30
    )
    assert reply.status_code == 200, reply.text

    def row() -> dict[str, Any] | None:
        result = cli(
            stack.home, "report", "--stage", "mql", "--by", "campaign", "--since", "1d", "--format", "json"
        )
        assert result.returncode == 0, result.stderr
        found = [r for r in json.loads(result.stdout) if r["campaign"] == campaign]
        return found[0] if found and found[0]["conversions"] == 1.0 and found[0]["spend"] else None

    got = stack.poll("the campaign's credit and spend in the report", row, 120)
    assert (got["spend"], got["cost_per_conversion"], got["roas"]) == (
        250.0,
        250.0,
        0.0,
    )  # a lead has no revenue
