"""Fixtures of the sink tests: a private migrated database per test module (exact counts need it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from clickhouse_driver import Client

from embedded.clickhouse import EmbeddedClickHouse
from sinks.client import connect
from sinks.migrate import apply_migrations


@pytest.fixture(scope="module")
def own_db(clickhouse_server: EmbeddedClickHouse) -> Iterator[str]:
    name = f"ts_sink_{uuid.uuid4().hex[:10]}"
    apply_migrations(connect(clickhouse_server.url), name)
    yield name
    connect(clickhouse_server.url).execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(scope="module")
def own_ch(clickhouse_server: EmbeddedClickHouse, own_db: str) -> Client:
    return connect(clickhouse_server.url, database=own_db)
