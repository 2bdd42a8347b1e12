"""`touchstream up` as a user runs it: a subprocess on free ports in a given home, stopped or killed.

The one harness for every test that drives the stack from outside: the end-to-end tests that restart
or crash it on the same data, and the CLI tests (``tests/integration/cli/running_up.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from schemas import jsonio
from sinks.client import connect

ROOT = Path(__file__).resolve().parents[2]
WRITE_KEY = "dev-write-key"
T = TypeVar("T")


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if stat[0] != "Z":
                children.setdefault(int(stat[1]), []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell: no TOUCHSTREAM_* except the home and what the test sets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHSTREAM_")}
    return {**env, "TOUCHSTREAM_HOME": str(home), **extra}


@dataclass
class UpProcess:
    """One `touchstream up ARGS` on ``home``; ``extra_env`` adds settings (e.g. the broker storage)."""

    home: Path
    log: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    endpoints: dict[str, str] = field(default_factory=dict)

    def start(self, timeout_s: float = 240.0) -> UpProcess:
        env = user_env(
            self.home,
            TOUCHSTREAM_EMBEDDED_KAFKA_PORT="0",
            TOUCHSTREAM_EMBEDDED_CLICKHOUSE_TCP_PORT="0",
            TOUCHSTREAM_EMBEDDED_CLICKHOUSE_HTTP_PORT="0",
            TOUCHSTREAM_COLLECTOR_PORT="0",
            COLUMNS="80",  # the dashboard of `up --demo` renders for a small terminal
            LINES="24",
            **self.extra_env,
        )
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "up", *self.args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        endpoints_file = self.home / "endpoints.json"
        pid = str(self.proc.pid)

        def ours() -> dict[str, str] | None:  # not a file a killed stack left behind
            try:
                found: dict[str, str] = jsonio.loads(endpoints_file.read_bytes())
            except (OSError, ValueError):
                return None
            return found if found.get("pid") == pid else None

        self.endpoints = self.poll("endpoints.json", ours, timeout_s)
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def poll(self, what: str, probe: Callable[[], T | None], timeout_s: float = 120.0) -> T:
        deadline = time.monotonic() + timeout_s
        last: T | None = None
        while time.monotonic() < deadline:
            assert self.running(), f"touchstream up exited while waiting for {what}:\n{self.tail()}"
            last = probe()
            if last is not None:
                return last
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(90)

    def close(self) -> None:
        """Ctrl-C if still running; SIGKILL the tree when it does not stop in time."""
        if self.running():
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.kill_tree()

    def kill_tree(self) -> None:
        """SIGKILL `touchstream up`; its children die with it (PR_SET_PDEATHSIG). Waits until all are gone."""
        assert self.proc is not None
        tree = descendants(self.proc.pid)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in tree), "a child outlived a SIGKILLed `touchstream up`"

    def clickhouse(self) -> Any:
        return connect(self.endpoints["clickhouse_url"], database=self.endpoints["clickhouse_database"])

    def scalar(self, query: str, params: dict[str, Any] | None = None) -> Any:
        return self.clickhouse().execute(query, params or {})[0][0]

    def send(self, events: list[dict[str, Any]]) -> None:
        """POST a native batch; every event must be accepted (2xx)."""
        reply = httpx.post(
            f"{self.endpoints['collector']}/v1/batch",
            content=jsonio.dumps(events),
            headers={"X-Write-Key": WRITE_KEY, "Content-Type": "application/json"},
            timeout=30,
        )
        assert reply.status_code < 300, reply.text

    def count_ids(self, table: str, ids: list[str], column: str = "event_id") -> tuple[int, int]:
        """(rows, distinct ids) of ``ids`` in ``table`` (FINAL where it is a table)."""
        final = "" if table == "account_journeys" else "FINAL"
        rows = self.clickhouse().execute(
            f"SELECT count(), uniqExact({column}) FROM {table} {final} WHERE {column} IN %(ids)s",  # noqa: S608
            {"ids": ids},
        )
        return int(rows[0][0]), int(rows[0][1])

    def wait_ids(
        self, table: str, ids: list[str], timeout_s: float = 120.0, column: str = "event_id"
    ) -> None:
        self.poll(
            f"{len(ids)} ids in {table}",
            lambda: self.count_ids(table, ids, column)[1] == len(ids) or None,
            timeout_s,
        )


def ts(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def page_views(
    anonymous_id: str, n: int, minutes_ago: float, source: str = "linkedin"
) -> list[dict[str, Any]]:
    """``n`` tagged page views of one device, a minute apart, ending ``minutes_ago``."""
    return [
        {
            "event_id": str(uuid.uuid4()),
            "type": "page_view",
            "ts": ts(minutes_ago + n - i),
            "anonymous_id": anonymous_id,
            "context": {"url": f"https://example.com/p/{i}"},
            "utm": {"source": source, "medium": "paid_social", "campaign": "restart"},
        }
        for i in range(n)
    ]


def identify(anonymous_id: str, email: str, domain: str, minutes_ago: float) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "identify",
        "ts": ts(minutes_ago),
        "anonymous_id": anonymous_id,
        "email": email,
        "account_domain": domain,
    }


def demo_form(anonymous_id: str, email: str, domain: str, minutes_ago: float) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "form_submit",
        "ts": ts(minutes_ago),
        "anonymous_id": anonymous_id,
        "email": email,
        "account_domain": domain,
        "form_id": "demo",
        "form_kind": "demo_request",
        "context": {"url": "https://example.com/demo"},
    }


def component_pids(up: UpProcess, marker: str) -> list[int]:
    """Pids of the stack's processes whose command line contains ``marker`` (e.g. ``cli.main\0worker``)."""
    assert up.proc is not None
    found = []
    for pid in descendants(up.proc.pid):
        try:
            cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmd:
            found.append(pid)
    return found
