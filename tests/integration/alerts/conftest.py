"""Alert test fixtures: a fresh migrated database per test on the session's embedded ClickHouse."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alert_support import fresh_database
from clickhouse_driver import Client

from embedded.clickhouse import EmbeddedClickHouse


@pytest.fixture
def alerts_db(clickhouse_server: EmbeddedClickHouse) -> Iterator[tuple[Client, str]]:
    yield from fresh_database(clickhouse_server)
