"""The whole pipeline in a subprocess: demo traffic through HTTP, answers checked in ClickHouse.

``touchstream up`` runs on free ports in a temporary home; the generator sends a few thousand
simulated events through the collector; then ClickHouse must hold every accepted touch exactly
once, stitched identities, the conversions sent, credits summing to 1, and data-driven models
that rank the simulation's ground-truth channel first. SIGTERM must then stop every process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from attribution.markov import markov
from attribution.shapley import shapley
from collector.ids import stable_id
from demo import simulate
from demo.readback import journeys_from_clickhouse
from demo.sender import send_blocking
from schemas import jsonio
from sinks.client import connect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SEED, ACCOUNTS, DAYS = 5, 250, 30  # seed 5: the simulated journeys themselves rank podcast first
T = TypeVar("T")


def _descendants(pid: int) -> dict[int, bytes]:
    """pid -> cmdline of every live descendant of ``pid``, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                out[child] = (Path("/proc") / str(child) / "cmdline").read_bytes()
            except OSError:
                continue
            todo.append(child)
    return out


def _alive(pid: int, cmdline: bytes) -> bool:
    try:
        path = Path("/proc") / str(pid)
        return (path / "cmdline").read_bytes() == cmdline and " Z " not in (path / "stat").read_text()
    except OSError:
        return False


_LAST_SEEN: dict[str, object] = {}


def _seen(what: str, value: object) -> None:
    """Remember what a probe last saw, so a timeout says how far off it was."""
    _LAST_SEEN[what] = value


def _poll(what: str, probe: Callable[[], T | None], deadline_s: float, proc: subprocess.Popen[bytes]) -> T:
    deadline = time.monotonic() + deadline_s
    last: T | None = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"touchstream up exited ({proc.returncode}) while waiting for {what}"
        last = probe()
        if last is not None:
            return last
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}; last seen: {str(_LAST_SEEN.get(what))[:1500]}")


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str], Path]]:
    env = {
        **os.environ,
        "TOUCHSTREAM_HOME": str(tmp_path / "home"),
        "TOUCHSTREAM_EMBEDDED_KAFKA_PORT": "0",
        "TOUCHSTREAM_EMBEDDED_CLICKHOUSE_TCP_PORT": "0",
        "TOUCHSTREAM_EMBEDDED_CLICKHOUSE_HTTP_PORT": "0",
        "TOUCHSTREAM_COLLECTOR_PORT": "0",
        "TOUCHSTREAM_RATE_LIMIT_PER_KEY": "100000",
    }
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "up"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    endpoints_file = tmp_path / "home" / "endpoints.json"
    try:
        _poll("endpoints.json", lambda: endpoints_file.exists() or None, 180, proc)
        endpoints: dict[str, str] = jsonio.loads(endpoints_file.read_bytes())
        yield proc, endpoints, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _ids_in(client: Any, table: str, ids: list[str]) -> tuple[int, int]:
    rows = client.execute(
        f"SELECT count(), uniqExact(event_id) FROM {table} FINAL WHERE event_id IN %(ids)s", {"ids": ids}
    )
    return int(rows[0][0]), int(rows[0][1])


def _ranking(shares: dict[str, float]) -> list[str]:
    return sorted(shares, key=lambda c: -shares[c])


def test_demo_traffic_end_to_end(pipeline: tuple[subprocess.Popen[bytes], dict[str, str], Path]) -> None:
    proc, endpoints, log = pipeline
    sim = simulate(accounts=ACCOUNTS, days=DAYS, seed=SEED)
    truth = sim.truth.strongest
    journeys = [j for j in sim.journeys(observable_only=True) if j.channels]
    paths, converted = [j.channels for j in journeys], [int(j.converted) for j in journeys]
    assert _ranking(markov(paths, converted))[0] == truth  # precondition: the data carries the truth
    assert _ranking(shapley(paths, converted))[0] == truth

    stats = send_blocking(endpoints["collector"], sim.requests(), rate=0)
    assert stats.rejected == 0, stats.errors
    assert stats.accepted == sum(r.events for r in sim.requests())

    client = connect(endpoints["clickhouse_url"], database=endpoints["clickhouse_database"])
    touch_ids = [
        e.event["event_id"]
        for e in sim.events
        if e.event["type"] in ("page_view", "engagement", "form_submit")
    ]
    # Forms keep no client id: the collector derives it from the submission id the generator sends.
    form_ids = {
        e.event["event_id"]: stable_id("form", e.event["form_id"], e.event["event_id"], "submit")
        for e in sim.events
        if e.event["type"] == "form_submit"
    }
    touch_ids = [form_ids.get(i, i) for i in touch_ids]
    assert set(touch_ids) - set(form_ids.values()) <= stats.accepted_ids

    def all_touches() -> tuple[int, int] | None:
        counts = _ids_in(client, "touchpoints", touch_ids)
        _seen("every touch in touchpoints", {"count, unique": counts, "expected": len(touch_ids)})
        return counts if counts[1] == len(touch_ids) else None

    count, unique = _poll("every touch in touchpoints", all_touches, 300, proc)
    assert count == unique == len(touch_ids), "a touch is missing or duplicated under FINAL"

    bots = [e.event["event_id"] for e in sim.events if e.is_bot]
    flagged = client.execute(
        "SELECT countIf(is_bot) FROM touchpoints FINAL WHERE event_id IN %(ids)s", {"ids": bots}
    )[0][0]
    assert flagged == len(bots)

    expected_stages = sim.expected.conversions_by_stage

    def conversions() -> dict[str, int] | None:
        got = dict(client.execute("SELECT stage, count() FROM conversions FINAL GROUP BY stage"))
        _seen("conversions per stage", {"got": got, "expected": expected_stages})
        return got if got == expected_stages else None

    assert _poll("conversions per stage", conversions, 120, proc) == expected_stages

    # "How did you hear about us?": every answer the simulation typed, on forms and in the CRM (all
    # three payload shapes), is stored once with its source; bots' forms answer nothing.
    typed = sorted(
        ("crm" if e.event["type"] == "crm_stage" else "form", " ".join(e.event["self_reported"].split()))
        for e in sim.events
        if e.event.get("self_reported") and not e.is_bot
    )
    assert {source for source, _ in typed} == {"crm", "form"}  # precondition: the demo answers both ways

    def answers() -> list[tuple[str, str]] | None:
        got = sorted(client.execute("SELECT source, answer FROM self_reports FINAL"))
        _seen("self-reported answers", {"got": len(got), "expected": len(typed)})
        return got if got == typed else None

    assert _poll("self-reported answers", answers, 60, proc) == typed

    # Identity stitching: every touch of an identified device resolves to its company's account.
    device_account = {
        e.event["anonymous_id"]: e.account
        for e in sim.events
        if e.event["type"] in ("identify", "form_submit") and e.event.get("anonymous_id")
    }
    touched = {e.event["anonymous_id"] for e in sim.events if e.channel and e.event.get("anonymous_id")}
    wanted = {d: a for d, a in device_account.items() if d in touched}

    def stitched() -> dict[str, str] | None:
        rows = client.execute(
            "SELECT anonymous_id, groupUniqArray(account_id) FROM account_journeys "
            "WHERE anonymous_id IN %(ids)s GROUP BY anonymous_id",
            {"ids": list(wanted)},
        )
        got = {d: accounts[0] if len(accounts) == 1 else repr(sorted(accounts)) for d, accounts in rows}
        _seen(
            "identities stitched onto anonymous touches",
            {d: (a, got.get(d)) for d, a in wanted.items() if got.get(d) != a},
        )
        return got if got == wanted else None

    assert _poll("identities stitched onto anonymous touches", stitched, 120, proc) == wanted

    def credits_complete() -> list[Any] | None:
        # Latest revisions only: a conversion revised to deleted (a later lead signal of an account
        # whose earlier one arrived late) keeps zero-credit rows and is gone from `conversions FINAL`;
        # credits converge as late hand-overs arrive, so poll until every live one sums to 1.
        rows = client.execute(
            "SELECT model, count() AS conversions, countIf(abs(total - 1) > 1e-6) AS off FROM "
            "(SELECT conversion_id, model, sum(credit) AS total FROM attribution_credits FINAL "
            " WHERE conversion_id IN (SELECT conversion_id FROM conversions FINAL) "
            " GROUP BY conversion_id, model) GROUP BY model"
        )
        _seen("attribution credits", rows)
        return rows if rows and all(off == 0 for _, _, off in rows) else None

    credits = _poll("attribution credits", credits_complete, 180, proc)
    assert all(off == 0 for _, _, off in credits), credits

    paths, converted = journeys_from_clickhouse(client, endpoints["clickhouse_database"], "mql")
    assert sum(converted) == expected_stages["mql"]
    assert _ranking(markov(paths, converted))[0] == truth
    assert _ranking(shapley(paths, converted))[0] == truth
    for model in ("markov", "shapley"):
        rows = client.execute(
            "SELECT channel, sum(credit) FROM attribution_credits FINAL "
            "WHERE model = %(m)s AND stage = 'mql' GROUP BY channel",
            {"m": model},
        )
        if rows:  # the stream writes data-driven credits only if it fits them online
            assert _ranking(dict(rows))[0] == truth, (model, rows)

    # Shutdown: SIGTERM stops up within 30 s and no component outlives it.
    children = _descendants(proc.pid)
    assert children, "touchstream up started no child processes"
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"touchstream up ignored SIGTERM for 30 s; log: {log.read_text()[-2000:]}")
    assert proc.returncode == 0, log.read_text()[-2000:]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p, c) for p, c in children.items()):
        time.sleep(0.2)
    assert not [p for p, c in children.items() if _alive(p, c)], "child processes outlived touchstream up"
    assert not (Path(endpoints["home"]) / "endpoints.json").exists()
