"""Fixtures of the end-to-end tests: `touchstream up` subprocesses that never outlive their test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.up_process import UpProcess


@pytest.fixture
def up_process(tmp_path: Path) -> Iterator[Callable[..., UpProcess]]:
    """``up_process(**env)`` -> a not yet started UpProcess on ``tmp_path/home``; killed at teardown."""
    made: list[UpProcess] = []

    def make(**extra_env: str) -> UpProcess:
        up = UpProcess(tmp_path / "home", tmp_path / f"up-{len(made)}.log", dict(extra_env))
        made.append(up)
        return up

    yield make
    for up in made:
        if up.running():
            up.kill_tree()
