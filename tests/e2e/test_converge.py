"""Credits converge whatever the arrival order: a shuffled burst into a fresh `touchstream up`, a worker
SIGKILLed in the middle of it.

Each journey is one account: two anonymous devices with two tagged touches each (an hour before), both
devices identify (40 min before), a demo form (30 min) and a CRM opportunity (20 min). Every event of
every journey is shuffled together and posted in batches of random size as soon as `up` says it is
ready, so identifies, forms and opportunities often arrive before the touches they are credited
from, and hand-overs run behind conversions. Halfway through, the stream worker is SIGKILLed (`up`
restarts it) while the rest keeps coming. The event-time answer for the linear model: the form and the
opportunity are each credited exactly the journey's four touches (the untagged demo form is a
conversion marker, not a touch), a quarter each.
"""

from __future__ import annotations

import os
import random
import signal
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.up_process import UpProcess, component_pids, demo_form, identify, page_views, ts

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

JOURNEYS = 120
SQL_MODELS = ("first", "last", "linear", "time_decay", "u_shaped", "w_shaped", "full_path")  # rule_credits'


def journey(rng: random.Random) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """(events, the four touch ids, the two conversion ids) of one account."""
    domain = f"j{uuid.uuid4().hex[:10]}.com"
    devices = [f"d-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    sources = rng.sample(["linkedin", "google", "podcast-network", "newsletter", "bing"], 2)
    touches = [
        t for device, source in zip(devices, sources, strict=True) for t in page_views(device, 2, 60, source)
    ]
    ann, bob = f"ann@{domain}", f"bob@{domain}"
    form = demo_form(devices[0], ann, domain, 30)
    opportunity = {
        "event_id": str(uuid.uuid4()),
        "type": "crm_stage",
        "ts": ts(20),
        "stage": "opportunity",
        "account_domain": domain,
        "email": ann,
        "amount": 12000.0,
        "currency": "USD",
    }
    events = [
        *touches,
        identify(devices[0], ann, domain, 40),
        identify(devices[1], bob, domain, 41),
        form,
        opportunity,
    ]
    return events, [t["event_id"] for t in touches], [form["event_id"], opportunity["event_id"]]


def test_shuffled_burst_with_a_worker_kill_converges(up_process: Callable[..., UpProcess]) -> None:
    rng = random.Random(15)
    up = up_process().start()
    expected: dict[str, set[str]] = {}
    events: list[dict[str, Any]] = []
    for _ in range(JOURNEYS):
        journey_events, touches, conversions = journey(rng)
        events += journey_events
        expected.update({c: set(touches) for c in conversions})
    rng.shuffle(events)
    batches: list[list[dict[str, Any]]] = []
    while events:
        size = rng.randint(1, 40)
        batches.append(events[:size])
        events = events[size:]
    for i, batch in enumerate(batches):
        up.send(batch)  # every batch must be accepted (2xx), also while the worker restarts
        if i == len(batches) // 2:
            pids = component_pids(up, "cli.main\0worker")
            assert pids, "no worker process in the stack"
            for pid in pids:
                os.kill(pid, signal.SIGKILL)

    conversions = list(expected)
    up.wait_ids("conversions", conversions, timeout_s=240, column="conversion_id")
    assert up.count_ids("conversions", conversions, column="conversion_id") == (
        len(conversions),
        len(conversions),
    )

    def credited() -> dict[str, dict[str, float]]:
        rows = up.clickhouse().execute(
            "SELECT conversion_id, event_id, credit FROM attribution_credits FINAL "
            "WHERE conversion_id IN %(c)s AND model = 'linear' AND credit != 0",
            {"c": conversions},
        )
        out: dict[str, dict[str, float]] = {}
        for conversion, event, credit in rows:
            out.setdefault(conversion, {})[event] = credit
        return out

    def converged() -> bool | None:
        got = credited()
        return all(set(got.get(c, {})) == touches for c, touches in expected.items()) or None

    try:
        up.poll("every conversion credited its four touches", converged, 240)
    except AssertionError as exc:
        got = credited()
        off = [
            (c, sorted(t), sorted(got.get(c, {}))) for c, t in expected.items() if set(got.get(c, {})) != t
        ]
        raise AssertionError(
            f"{exc}\n{len(off)} of {len(expected)} conversions off, e.g. {off[:3]}"
        ) from None
    for conversion, shares in credited().items():
        assert shares == pytest.approx(dict.fromkeys(expected[conversion], 0.25)), conversion
    # The stream's latest revision equals the SQL recomputation from touchpoints, for every rule model.
    for stage in ("lead", "opportunity"):
        stream = up.clickhouse().execute(
            "SELECT conversion_id, model, event_id, round(credit, 9) FROM attribution_credits FINAL "
            "WHERE conversion_id IN %(c)s AND stage = %(s)s AND credit != 0 AND model IN %(m)s ORDER BY ALL",
            {"c": conversions, "s": stage, "m": SQL_MODELS},
        )
        sql = up.clickhouse().execute(
            "SELECT conversion_id, model, event_id, round(credit, 9) FROM rule_credits_between("
            "stage = %(s)s, since = today() - 2, until = today() + 1, lookback_days = 90, "
            "lead_gen_days = 30, half_life_days = 7) "
            "WHERE conversion_id IN %(c)s AND credit != 0 ORDER BY ALL",
            {"c": conversions, "s": stage},
        )
        assert len({(c, m) for c, m, _, _ in stream}) == JOURNEYS * len(SQL_MODELS), stage
        assert stream == sql, stage
    assert "restarted worker" in up.log.read_text(errors="replace")
    assert up.running()
    assert up.stop() == 0
