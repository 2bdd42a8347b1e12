"""Crash anywhere: under load, SIGKILL each process of a running `touchstream up` in turn.

A sender posts journeys (three tagged page views, an identify, a demo form per device) and, like an
SDK, retries a batch until it gets a 2xx. Meanwhile the stream worker, the sink, the collector, the
broker, its S3 store and ClickHouse are each SIGKILLed; `up` must restart each one. Afterwards every
accepted event is in ClickHouse exactly once, every form is one conversion, and its latest credits
are exactly its three page views.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.up_process import WRITE_KEY, UpProcess, component_pids, demo_form, identify, page_views

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

# Process of each victim, as it appears in its command line, and its name in up's restart notice.
VICTIMS = (
    ("cli.main\0worker", "worker"),
    ("cli.main\0sink", "sink"),
    ("cli.main\0collector", "collector"),
    ("tansu\0broker", "kafka"),
    ("embedded.s3store", "kafka"),
    ("embedded.clickhouse_main", "clickhouse"),
)


class Sender(threading.Thread):
    """Posts one device's journey per batch, retrying each batch until it is accepted."""

    def __init__(self, collector: str) -> None:
        super().__init__(daemon=True)
        self.collector = collector
        self.stop = threading.Event()
        self.accepted: list[dict[str, Any]] = []  # batches that got a 2xx, in order
        self.retries = 0

    def batch(self) -> list[dict[str, Any]]:
        device, domain = f"d-{uuid.uuid4().hex[:10]}", f"c{uuid.uuid4().hex[:8]}.com"
        email = f"buyer@{domain}"
        return [
            *page_views(device, 3, 30),
            identify(device, email, domain, 20),
            demo_form(device, email, domain, 10),
        ]

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                events = self.batch()
                while not self.stop.is_set():
                    try:
                        reply = client.post(
                            f"{self.collector}/v1/batch", json=events, headers={"X-Write-Key": WRITE_KEY}
                        )
                        if reply.status_code < 300:
                            self.accepted.append({"events": events})
                            break
                        assert reply.status_code in (429, 502, 503), reply.text
                    except httpx.TransportError:
                        pass  # the collector is being restarted
                    self.retries += 1
                    time.sleep(0.2)
                time.sleep(0.05)


def _restarted(up: UpProcess, name: str, before: int) -> Callable[[], bool | None]:
    def probe() -> bool | None:
        return up.log.read_text(errors="replace").count(f"restarted {name}") > before or None

    return probe


def _explain(
    up: UpProcess, expected: dict[str, set[str]], credited: dict[str, tuple[set[str], float]]
) -> str:
    """What a failed convergence looked like: the forms off, their revisions, the logs' last lines."""
    off = {c: ids for c, ids in expected.items() if credited.get(c, (set(), 0.0))[0] != ids}
    sample = list(off)[:3]
    revisions = up.clickhouse().execute(
        "SELECT conversion_id, revision, groupArray((event_id, credit)) FROM attribution_credits "
        "WHERE conversion_id IN %(f)s AND model = 'linear' GROUP BY conversion_id, revision "
        "ORDER BY conversion_id, revision",
        {"f": sample},
    )
    lines = [f"{len(off)} of {len(expected)} forms not converged; e.g."]
    lines += [f"  {c}: expected {sorted(off[c])}, latest {credited.get(c)}" for c in sample]
    lines += [f"  revision {r}: {c} {pairs}" for c, r, pairs in revisions]
    for name in ("worker", "sink"):
        log = up.home / "logs" / f"{name}.log"
        tail = log.read_text(errors="replace").splitlines()[-25:] if log.exists() else []
        lines += [f"--- {name}.log", *tail]
    return "\n".join(lines)


def test_every_accepted_event_survives_each_kill(up_process: Callable[..., UpProcess]) -> None:
    up = up_process(TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE="durable").start()
    sender = Sender(up.endpoints["collector"])
    sender.start()
    try:
        for marker, name in VICTIMS:
            up.poll("traffic", lambda: len(sender.accepted) > 5 or None)
            time.sleep(3)
            pids = component_pids(up, marker)
            assert pids, f"no {marker!r} process in the stack"
            before = up.log.read_text(errors="replace").count(f"restarted {name}")
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            up.poll(f"{name} restarted", _restarted(up, name, before), 60)
            accepted_before = len(sender.accepted)
            up.poll(
                f"intake after killing {marker!r}",
                lambda n=accepted_before: len(sender.accepted) > n or None,
                120,
            )
    finally:
        sender.stop.set()
        sender.join(30)

    batches = [b["events"] for b in sender.accepted]
    ids = [e["event_id"] for events in batches for e in events if e["type"] != "identify"]
    forms = [events[-1]["event_id"] for events in batches]
    up.wait_ids("touchpoints", ids, timeout_s=240)
    assert up.count_ids("touchpoints", ids) == (len(ids), len(ids))
    up.wait_ids("conversions", forms, timeout_s=240, column="conversion_id")
    assert up.count_ids("conversions", forms, column="conversion_id") == (len(forms), len(forms))

    expected = {events[-1]["event_id"]: {e["event_id"] for e in events[:3]} for events in batches}

    def credited() -> dict[str, tuple[set[str], float]]:
        rows = up.clickhouse().execute(
            "SELECT conversion_id, groupUniqArray(event_id), sum(credit) FROM attribution_credits FINAL "
            "WHERE conversion_id IN %(f)s AND model = 'linear' AND credit > 0 GROUP BY conversion_id",
            {"f": forms},
        )
        return {c: (set(e), total) for c, e, total in rows}

    # A form can be credited before its handed-over touches arrive (a `(none)` revision); the
    # latest revision must converge to exactly its three page views, credits summing to 1.
    try:
        up.poll(
            "credits of every form converged",
            lambda: all(credited().get(c, (set(), 0.0))[0] == ids for c, ids in expected.items()) or None,
            180,
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_explain(up, expected, credited())}") from None
    for conversion, (ids_, total) in credited().items():
        assert ids_ == expected[conversion] and abs(total - 1.0) < 1e-9
    assert up.running()
    assert up.stop() == 0
