"""Fixtures of the stream integration tests: worker subprocesses on their own uuid-suffixed topics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.streams.streams_harness import Workers


@pytest.fixture
def workers(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(kafka_bootstrap, tmp_path, uuid.uuid4().hex[:10])
    yield w
    w.stop_all()
