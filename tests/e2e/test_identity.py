"""Undo a merge through `touchstream up`, as a user would: `identity split`, then `identity relink`.

A shared laptop: Ann (x) identifies on it, then Bob (y); its page views are Bob's, so y's MQL credits
them and x's MQL has no touch. `touchstream identity split --device D --person bob` (the README's
command, in a shell with only TOUCHSTREAM_HOME set) moves them to Ann's account: x's MQL is revised to
the page views, y's to `(none)`, the SQL recomputation agrees, and `identity show` marks the edge
revoked. `identity relink` returns every credit, journey row and identity map to what it was.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from schemas import jsonio
from tests.e2e.up_process import ROOT, UpProcess, identify, page_views, ts, user_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

RULE_MODELS = ("first", "last", "linear", "time_decay", "u_shaped", "w_shaped", "full_path")


def _cli(up: UpProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=user_env(up.home, COLUMNS="120"),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _mql(domain: str, minutes_ago: float) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": "crm_stage", "ts": ts(minutes_ago),
            "account_domain": domain, "stage": "mql"}  # fmt: skip


def _credits(up: UpProcess, conversions: list[str]) -> dict[str, set[str]]:
    """conversion -> the event ids its latest linear credits name (non-zero rows)."""
    rows = up.clickhouse().execute(
        "SELECT conversion_id, event_id FROM attribution_credits FINAL "
        "WHERE conversion_id IN %(c)s AND model = 'linear' AND credit != 0",
        {"c": conversions},
    )
    out: dict[str, set[str]] = {c: set() for c in conversions}
    for conversion, event in rows:
        out[conversion].add(event)
    return out


def _snapshot(up: UpProcess, conversions: list[str], views: list[str], device: str) -> dict[str, Any]:
    ch = up.clickhouse()
    credits = (
        "SELECT conversion_id, model, event_id, round(credit, 9), account_id "
        "FROM attribution_credits FINAL WHERE conversion_id IN %(c)s AND credit != 0"
    )
    convs = "SELECT conversion_id, account_id, deleted FROM conversions FINAL WHERE conversion_id IN %(c)s"
    journeys = "SELECT event_id, person_id, account_id FROM account_journeys WHERE event_id IN %(v)s"
    return {
        "credits": sorted(ch.execute(credits, {"c": conversions})),
        "conversions": sorted(ch.execute(convs, {"c": conversions})),
        "journeys": sorted(ch.execute(journeys, {"v": views})),
        "device": ch.execute("SELECT resolved_person FROM device_people WHERE anonymous_id = %(d)s",
                             {"d": device}),
    }  # fmt: skip


def _sql_agrees(up: UpProcess, conversions: list[str]) -> None:
    stream = up.clickhouse().execute(
        "SELECT conversion_id, model, event_id, round(credit, 9) FROM attribution_credits FINAL "
        "WHERE conversion_id IN %(c)s AND credit != 0 AND model IN %(m)s ORDER BY ALL",
        {"c": conversions, "m": RULE_MODELS},
    )
    sql = up.clickhouse().execute(
        "SELECT conversion_id, model, event_id, round(credit, 9) FROM rule_credits_between("
        "stage = 'mql', since = today() - 2, until = today() + 1, lookback_days = 90, "
        "lead_gen_days = 30, half_life_days = 7) WHERE conversion_id IN %(c)s AND credit != 0 ORDER BY ALL",
        {"c": conversions},
    )
    assert stream == sql, (stream, sql)


def test_split_moves_the_touches_and_relink_restores_everything(up_process: Callable[..., UpProcess]) -> None:
    up = up_process().start()
    tag = uuid.uuid4().hex[:8]
    device, x, y = f"laptop-{tag}", f"x{tag}.com", f"y{tag}.com"
    ann, bob = f"ann@{x}", f"bob@{y}"
    views = page_views(device, 2, 40)
    mql_x, mql_y = _mql(x, 10), _mql(y, 10)
    up.send([identify(device, ann, x, 60), identify(device, bob, y, 50), *views, mql_x, mql_y])
    ids = [v["event_id"] for v in views]
    conversions = [mql_x["event_id"], mql_y["event_id"]]

    def credited(expected: dict[str, set[str]]) -> Callable[[], bool | None]:
        return lambda: _credits(up, conversions) == expected or None

    bob_has_them = {mql_x["event_id"]: {""}, mql_y["event_id"]: set(ids)}
    up.poll("y's MQL credits the laptop's views", credited(bob_has_them), 180)
    _sql_agrees(up, conversions)
    before = _snapshot(up, conversions, ids, device)
    assert before["device"] == [(bob,)]

    split = _cli(up, "identity", "split", "--device", device, "--person", bob, "--reason", "shared laptop")
    assert split.returncode == 0, split.stdout + split.stderr
    ann_has_them = {mql_x["event_id"]: set(ids), mql_y["event_id"]: {""}}
    up.poll("x's MQL credits the views after the split", credited(ann_has_them), 180)
    _sql_agrees(up, conversions)
    after = _snapshot(up, conversions, ids, device)
    assert after["device"] == [(ann,)]
    assert {(p, a) for _, p, a in after["journeys"]} == {(ann, x)}
    shown = _cli(up, "identity", "show", device, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    edges = jsonio.loads(shown.stdout)["edges"]
    revoked = [e for e in edges if e["child"] == device and e["parent"] == bob]
    assert revoked and all(e["revoked"] and not e["current"] for e in revoked), edges

    relink = _cli(up, "identity", "relink", "--device", device, "--person", bob)
    assert relink.returncode == 0, relink.stdout + relink.stderr
    up.poll("y's MQL credits the views again", credited(bob_has_them), 180)
    up.poll(
        "every table as before the split",
        lambda: _snapshot(up, conversions, ids, device) == before or None,
        60,
    )
    _sql_agrees(up, conversions)
    assert up.running()
