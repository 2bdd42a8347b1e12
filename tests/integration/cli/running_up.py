"""A `touchstream up` subprocess on free ports and a tmp home, and the CLI run as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from schemas import jsonio
from sinks.client import connect

ROOT = Path(__file__).resolve().parents[3]
T = TypeVar("T")


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell: no TOUCHSTREAM_* except what the test sets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHSTREAM_")}
    return {**env, "TOUCHSTREAM_HOME": str(home), **extra}


@dataclass
class Up:
    proc: subprocess.Popen[bytes]
    home: Path
    log: Path
    endpoints: dict[str, str]

    def clickhouse(self) -> Any:
        return connect(self.endpoints["clickhouse_url"], database=self.endpoints["clickhouse_database"])

    def scalar(self, query: str, params: dict[str, Any] | None = None) -> Any:
        return self.clickhouse().execute(query, params or {})[0][0]

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait(self, what: str, probe: Callable[[], T | None], timeout_s: float = 120.0) -> T:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"touchstream up exited while waiting for {what}:\n{self.tail()}"
            found = probe()
            if found is not None:
                return found
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n{self.tail()}")


@contextmanager
def touchstream_up(home: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Up]:
    """`touchstream up ARGS` until endpoints.json appears; Ctrl-C (and a clean exit) on leaving."""
    home.mkdir(parents=True, exist_ok=True)
    log = home / "up.out"
    full_env = base_env(
        home,
        TOUCHSTREAM_EMBEDDED_KAFKA_PORT="0",
        TOUCHSTREAM_EMBEDDED_CLICKHOUSE_TCP_PORT="0",
        TOUCHSTREAM_EMBEDDED_CLICKHOUSE_HTTP_PORT="0",
        TOUCHSTREAM_COLLECTOR_PORT="0",
        COLUMNS="80",
        LINES="24",
        **(env or {}),
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "up", *args],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoints_file = home / "endpoints.json"
    up = Up(proc, home, log, {})
    try:
        up.wait("endpoints.json", lambda: endpoints_file.exists() or None, 180)
        up.endpoints = {str(k): str(v) for k, v in jsonio.loads(endpoints_file.read_bytes()).items()}
        yield up
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)


def cli(
    home: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m cli.main ARGS` with only TOUCHSTREAM_HOME (and ``env``) set, as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=base_env(home, **(env or {})),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
