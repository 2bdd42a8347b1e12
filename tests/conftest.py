"""Session fixtures: one embedded ClickHouse server and one embedded broker for the whole run.

Isolation comes from names, not servers: a uuid database per session and a uuid topic / group
per test (``topic_factory``, ``group_id``). A service that fails to start fails the tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clickhouse_driver import Client

from embedded.clickhouse import EmbeddedClickHouse
from embedded.kafka import EmbeddedKafka
from sinks.client import connect
from sinks.migrate import apply_migrations
from streams.admin import ensure_topics
from tests.e2e.up_process import UpProcess


@pytest.fixture(scope="session")
def services_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("touchstream-home")


@pytest.fixture(scope="session")
def clickhouse_server(services_home: Path) -> Iterator[EmbeddedClickHouse]:
    with EmbeddedClickHouse(services_home) as server:
        yield server


@pytest.fixture(scope="session")
def kafka_broker(services_home: Path) -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka(services_home) as broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: EmbeddedKafka) -> str:
    return kafka_broker.bootstrap


@pytest.fixture(scope="session")
def clickhouse_url(clickhouse_server: EmbeddedClickHouse) -> str:
    return clickhouse_server.url


@pytest.fixture(scope="session")
def ch_database(clickhouse_server: EmbeddedClickHouse) -> str:
    """A freshly migrated database for this session."""
    name = f"ts_test_{uuid.uuid4().hex[:10]}"
    apply_migrations(connect(clickhouse_server.url), name)
    return name


@pytest.fixture
def ch(clickhouse_server: EmbeddedClickHouse, ch_database: str) -> Client:
    """A client whose default database is the session's migrated database."""
    return connect(clickhouse_server.url, database=ch_database)


@pytest.fixture
def topic_factory(kafka_bootstrap: str) -> Callable[..., str]:
    """Create a uniquely named topic: ``topic_factory(partitions=4, prefix="t")`` -> name."""

    def make(partitions: int = 4, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        ensure_topics(kafka_bootstrap, partitions, [name])
        return name

    return make


@pytest.fixture
def group_id() -> str:
    return f"g-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def up_process(tmp_path: Path) -> Iterator[Callable[..., UpProcess]]:
    """``up_process(**env)``: a not yet started `touchstream up` in ``tmp_path/home``, killed at teardown."""
    made: list[UpProcess] = []

    def make(**extra_env: str) -> UpProcess:
        up = UpProcess(tmp_path / "home", tmp_path / f"up-{len(made)}.log", dict(extra_env))
        made.append(up)
        return up

    yield make
    for up in made:
        if up.running():
            up.kill_tree()
