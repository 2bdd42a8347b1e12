"""`touchstream up --demo` with the operator's own keys: the demo signs with them and the data arrives."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from tests.integration.cli.running_up import touchstream_up

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

KEYS = {"TOUCHSTREAM_WRITE_KEYS": "ops-write-1,ops-write-2", "TOUCHSTREAM_SITE_KEYS": "ops-site-1"}


def test_up_demo_sends_with_the_configured_keys(tmp_path: Path) -> None:
    with touchstream_up(tmp_path / "home", "--demo", env=KEYS) as up:
        count = "SELECT count() FROM touchpoints FINAL"
        # before the fix: 401 on the first request and 0 touchpoints, however long one waits
        up.poll("demo touchpoints in ClickHouse", lambda: up.scalar(count) >= 20 or None, 240)
        pixel = "SELECT count() FROM touchpoints FINAL WHERE type = 'page_view'"
        up.poll(
            "page views (pixel with the site key, batches with the write key)",
            lambda: up.scalar(pixel) or None,
        )
        up.proc.send_signal(signal.SIGINT)
        assert up.proc.wait(90) == 0, up.tail()
    out = up.log.read_text(errors="replace")
    assert "answered 401" not in out and "demo sender:" not in out, out[-3000:]
    # the last dashboard frame (80x24, not a terminal) shows the sender's progress and the sql hint
    assert re.search(r"demo [1-9][\d,]* accepted \(", out) and "Top channels per model" in out, out[-3000:]
    assert "clickhouse-client" not in out


def test_a_sender_error_shows_on_the_dashboard(tmp_path: Path) -> None:
    # No write key at all: the demo cannot sign CRM stages and spend, and must say so on screen.
    with touchstream_up(tmp_path / "home", "--demo", env={"TOUCHSTREAM_WRITE_KEYS": ""}) as up:
        up.poll("the demo sender", lambda: "demo traffic: seed" in up.log.read_text() or None, 60)
        time.sleep(10)  # the sender thread simulates (< 1 s of CPU), then fails; the frame at Ctrl-C shows it
        up.proc.send_signal(signal.SIGINT)
        assert up.proc.wait(90) == 0, up.tail()
    out = up.log.read_text(errors="replace")
    assert "demo sender: TOUCHSTREAM_WRITE_KEYS is empty" in out, out[-3000:]
    assert "(stopped)" in out
