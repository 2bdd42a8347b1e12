"""`touchstream up` stopped and started again on the same home, as `make run` twice does.

Durable broker (the default): Ctrl-C, start again, more events, a conversion that credits touches
from the first run (journey state came back from the broker's changelogs); then SIGKILL of the whole
process tree, start again: every accepted event is in ClickHouse exactly once and the stack stays up;
then the store deleted: the next start re-seeds journeys from ClickHouse.
Memory broker: the second start must not die on the workers' leftover local state (faust's
ConsistencyError) and re-seeds journeys from ClickHouse.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable

import pytest

from tests.e2e.up_process import UpProcess, demo_form, identify, page_views

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def _credited(up: UpProcess, conversion_id: str) -> set[str]:
    rows = up.clickhouse().execute(
        "SELECT DISTINCT event_id FROM attribution_credits FINAL "
        "WHERE conversion_id = %(c)s AND model = 'linear' AND credit > 0",
        {"c": conversion_id},
    )
    return {r[0] for r in rows}


def _revision(up: UpProcess, conversion_id: str) -> int:
    return int(
        up.scalar(
            "SELECT max(revision) FROM attribution_credits WHERE conversion_id = %(c)s AND model = 'linear'",
            {"c": conversion_id},
        )
    )


def _stays_up(up: UpProcess, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert up.running(), f"touchstream up exited:\n{up.tail()}"
        time.sleep(0.5)
    log = up.log.read_text(errors="replace")
    assert "restarted" not in log and "stopping:" not in log, log


def _first_run(up: UpProcess, domain: str) -> tuple[list[str], str]:
    """Touches of two devices and their identifies; returns (event ids, the device that converts)."""
    device_a, device_b = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    touches = page_views(device_a, 3, 120, "linkedin") + page_views(device_b, 2, 90, "google")
    events = [
        *touches,
        identify(device_a, f"ann@{domain}", domain, 60),
        identify(device_b, f"bob@{domain}", domain, 59),
    ]
    up.send(events)
    up.wait_ids("touchpoints", [e["event_id"] for e in touches])
    return [e["event_id"] for e in events], device_a


def _says(up: UpProcess, note: str, times: int) -> None:
    """`up` printed ``note`` (below its endpoint table, just after endpoints.json) ``times`` times so far."""
    up.poll(
        f"{note!r} x{times}",
        lambda: up.log.read_text(errors="replace").count(note) == times or None,
        30,
    )


def test_durable_restart_and_kill_keep_everything(up_process: Callable[..., UpProcess]) -> None:
    domain = f"acme-{uuid.uuid4().hex[:6]}.com"
    up = up_process().start()  # no storage setting: durable is `up`'s default
    assert (up.home / "kafka" / "s3").is_dir()
    _says(up, "broker log: new log in", 1)
    first_ids, device = _first_run(up, domain)
    touch_ids = first_ids[:5]
    assert up.stop() == 0

    # Second start on the same data: the journeys kept in the broker's changelogs credit the form.
    up.start()
    _says(up, "broker log: resumed from the kept log", 1)
    more = page_views(device, 2, 10, "linkedin")
    form = demo_form(device, f"ann@{domain}", domain, 1)
    up.send([*more, form])
    up.wait_ids("conversions", [form["event_id"]], column="conversion_id")
    credited = up.poll("credits of the form", lambda: _credited(up, form["event_id"]) or None)
    assert set(touch_ids) | {e["event_id"] for e in more} <= credited
    _stays_up(up, 10)

    # SIGKILL of everything, then a third start: nothing accepted is lost or doubled.
    late = page_views(device, 3, 5, "podcast")
    up.send(late)
    up.kill_tree()
    up.start()
    _says(up, "broker log: resumed from the kept log", 2)
    after = page_views(device, 2, 2, "podcast")
    up.send(after)
    accepted = [*touch_ids, *(e["event_id"] for e in [*more, form, *late, *after])]
    up.wait_ids("touchpoints", accepted)
    assert up.count_ids("touchpoints", accepted) == (len(accepted), len(accepted))
    journey_ids = [i for i in accepted if i != form["event_id"]] + [form["event_id"]]
    up.poll(
        "every touch in account_journeys",
        lambda: up.count_ids("account_journeys", journey_ids)[1] == len(journey_ids) or None,
    )
    assert up.count_ids("account_journeys", journey_ids) == (len(journey_ids), len(journey_ids))
    _stays_up(up, 10)
    form_id, credited = form["event_id"], _credited(up, form["event_id"])
    revision = _revision(up, form_id)
    assert up.stop() == 0

    # The store deleted: a new log, the workers' local state dropped and re-seeded from ClickHouse; the
    # re-seeded form is credited once more from the rebuilt journey (a new revision, the same touches).
    shutil.rmtree(up.home / "kafka")
    up.start()
    _says(up, "broker log: new log in", 2)
    up.poll(
        "the re-seeded form credited again",
        lambda: (_revision(up, form_id) > revision and _credited(up, form_id) == credited) or None,
    )
    _stays_up(up, 5)
    assert up.stop() == 0


def test_memory_broker_second_start_reseeds(up_process: Callable[..., UpProcess]) -> None:
    domain = f"mem-{uuid.uuid4().hex[:6]}.com"
    up = up_process(TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE="memory").start()  # not the default: set it
    assert not (up.home / "kafka").exists()
    _says(up, "broker log in memory", 1)
    first_ids, device = _first_run(up, domain)
    up.wait_ids("identities", [device], column="anonymous_id")
    assert up.stop() == 0

    up.start()
    _says(up, "broker log in memory", 2)  # re-seeded again
    form = demo_form(device, f"ann@{domain}", domain, 1)
    up.send([form])
    credited = up.poll("credits of the form", lambda: _credited(up, form["event_id"]) or None)
    assert set(first_ids[:5]) <= credited  # re-seeded from ClickHouse: both devices' touches
    _stays_up(up, 10)
    assert up.stop() == 0
