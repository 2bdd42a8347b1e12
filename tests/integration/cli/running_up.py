"""The CLI tests' `touchstream up`: the shared harness (tests/e2e/up_process.py) as a context manager,
and the CLI run as a user types it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.up_process import ROOT, UpProcess
from tests.e2e.up_process import user_env as base_env

__all__ = ["ROOT", "Up", "base_env", "cli", "touchstream_up"]
Up = UpProcess


@contextmanager
def touchstream_up(home: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[UpProcess]:
    """`touchstream up ARGS` until it wrote endpoints.json; Ctrl-C (or a kill) on leaving."""
    up = UpProcess(home, home.parent / f"{home.name}-up.out", dict(env or {}), args=args)
    try:
        yield up.start(180)
    finally:
        up.close()


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
