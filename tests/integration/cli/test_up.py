"""`touchstream up` brings the services up, writes endpoints.json, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sinks.client import connect


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.add(int(entry.name))
    return out


def _running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_up_serves_endpoints_and_stops_cleanly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TOUCHSTREAM_HOME": str(tmp_path),
        "TOUCHSTREAM_EMBEDDED_KAFKA_PORT": "0",
        "TOUCHSTREAM_EMBEDDED_CLICKHOUSE_TCP_PORT": "0",
        "TOUCHSTREAM_EMBEDDED_CLICKHOUSE_HTTP_PORT": "0",
        "TOUCHSTREAM_COLLECTOR_PORT": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    endpoints_file = tmp_path / "endpoints.json"
    try:
        deadline = time.monotonic() + 90
        while not endpoints_file.exists():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "endpoints.json never appeared"
            time.sleep(0.2)
        endpoints = json.loads(endpoints_file.read_text())
        assert {
            "collector",
            "kafka_bootstrap",
            "clickhouse_native",
            "clickhouse_http",
            "clickhouse_database",
        } <= set(endpoints)
        client = connect(endpoints["clickhouse_url"], database=endpoints["clickhouse_database"])
        assert ("touchpoints",) in client.execute("SHOW TABLES")
        children = _children(proc.pid)
        assert children, "up should run the broker and ClickHouse as child processes"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while any(_running(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(c) for c in children)
    assert not endpoints_file.exists()
