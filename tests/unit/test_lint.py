"""ruff is clean on the whole tree (what `make lint` checks first), so a style slip fails CI, not review."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "."], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_ruff_check_and_format_are_clean() -> None:
    check = _ruff("check", "--no-cache")
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = _ruff("format", "--check", "--no-cache")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
