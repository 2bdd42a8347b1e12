"""Disk full: the durable broker's store runs out of space under load, then space returns.

The store's data directory (``$TOUCHSTREAM_HOME/kafka/s3``) is a small tmpfs. A sender posts journeys
like an SDK (retrying a batch until it gets a 2xx). A filler file first leaves the store just above its
reserve, so the events themselves fill it up to the reserve, and then takes every byte left, as another
program filling the disk would. The collector must answer 503 + Retry-After meanwhile — never another 5xx,
never a 2xx for an event that is then lost. The filler is removed; intake must recover by itself, and
every accepted event must reach ``touchpoints FINAL`` exactly once: no consumer stalls.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from embedded.objectdir import DEFAULT_RESERVE_BYTES
from tests.e2e.up_process import WRITE_KEY, UpProcess, page_views

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

TMPFS_MIB = 160


class Sender(threading.Thread):
    """Posts one device's five page views per batch, retrying each batch until it is accepted."""

    def __init__(self, collector: str) -> None:
        super().__init__(daemon=True)
        self.collector = collector
        self.stop = threading.Event()
        self.accepted: list[str] = []  # event ids of batches that got a 2xx
        self.statuses: Counter[int] = Counter()
        self.retry_after: Counter[str] = Counter()  # Retry-After values of the 503s
        self.transport_errors = 0

    def run(self) -> None:
        with httpx.Client(timeout=15) as client:
            while not self.stop.is_set():
                events = page_views(f"d-{uuid.uuid4().hex[:10]}", 5, 30)
                while not self.stop.is_set():
                    try:
                        reply = client.post(
                            f"{self.collector}/v1/batch", json=events, headers={"X-Write-Key": WRITE_KEY}
                        )
                    except httpx.TransportError:
                        self.transport_errors += 1
                        time.sleep(0.2)
                        continue
                    self.statuses[reply.status_code] += 1
                    if reply.status_code < 300:
                        self.accepted.extend(e["event_id"] for e in events)
                        break
                    if reply.status_code == 503:
                        self.retry_after[reply.headers.get("retry-after", "missing")] += 1
                    time.sleep(0.2)
                time.sleep(0.01)


@pytest.fixture
def store_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A ``TMPFS_MIB`` tmpfs where `touchstream up` keeps the durable broker's store."""
    mount = tmp_path / "home" / "kafka" / "s3"
    mount.mkdir(parents=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MIB}m", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:  # no mount(8)
        pytest.skip(f"cannot mount a tmpfs for the store: {exc}")
    if done.returncode != 0:  # not root, or no CAP_SYS_ADMIN in this container
        pytest.skip(f"cannot mount a tmpfs for the store: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        for _ in range(50):  # `up` is killed at the fixture's teardown, after ours: wait for it
            if subprocess.run(["umount", str(mount)], capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.2)
        else:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def _free(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _fill(filler: Path, leave: int) -> None:
    """Grow ``filler`` until free space is ``leave`` bytes (0: until the file system is full)."""
    with filler.open("ab") as out:
        chunk = b"\0" * (1 << 20)
        while (free := _free(filler.parent)) > leave:
            try:
                out.write(chunk[: min(len(chunk), free - leave)])
                out.flush()
            except OSError:
                break


def test_full_store_answers_503_and_recovers(
    up_process: Callable[..., UpProcess], store_tmpfs: Path, tmp_path: Path
) -> None:
    trace = tmp_path / "s3-trace.log"
    up = up_process(
        TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE="durable", TOUCHSTREAM_S3STORE_TRACE=str(trace)
    ).start()
    sender = Sender(up.endpoints["collector"])
    sender.start()
    report: dict[str, Any] = {}
    try:
        up.poll("traffic", lambda: len(sender.accepted) > 50 or None)
        # 1. The events fill the store up to its reserve.
        filler = store_tmpfs / "filler"
        _fill(filler, DEFAULT_RESERVE_BYTES + (1 << 20))
        up.poll("a 503 as the events fill the reserve", lambda: sender.statuses[503] > 0 or None, 120)
        report["accepted_at_reserve"] = len(sender.accepted)
        time.sleep(5)
        # 2. Another program takes every byte left.
        _fill(filler, 0)
        time.sleep(10)
        report["accepted_while_full"] = len(sender.accepted) - report["accepted_at_reserve"]
        report["503_while_full"] = sender.statuses[503]
        # 3. Space returns: intake recovers by itself.
        filler.unlink()
        accepted = len(sender.accepted)
        up.poll("intake after space returned", lambda: len(sender.accepted) > accepted + 100 or None, 120)
        time.sleep(5)
    finally:
        sender.stop.set()
        sender.join(30)
    report.update(statuses=dict(sender.statuses), retry_after=dict(sender.retry_after))
    report.update(transport_errors=sender.transport_errors, accepted=len(sender.accepted))
    print(f"disk full: {report}")

    assert all(status < 300 or status == 503 for status in sender.statuses), report
    assert sender.statuses[503] > 0 and "missing" not in sender.retry_after, report
    ids = sender.accepted
    try:
        up.wait_ids("touchpoints", ids, timeout_s=120)
    except AssertionError:
        rows, distinct = up.count_ids("touchpoints", ids)
        raise AssertionError(f"{distinct} of {len(ids)} accepted events in touchpoints; {report}") from None
    assert up.count_ids("touchpoints", ids) == (len(ids), len(ids))
    assert up.running()
    assert up.stop() == 0
