"""How commands find the stack: settings first, else endpoints.json, else a clear 'no running stack'."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from cli import running
from schemas.settings import Settings

ENDPOINTS = {
    "collector": "http://127.0.0.1:18080",
    "kafka_bootstrap": "127.0.0.1:19092",
    "clickhouse_url": "clickhouse://default@127.0.0.1:19000",
    "clickhouse_database": "ts_running",
}


def _home(tmp_path: Path, endpoints: object | None = ENDPOINTS) -> Path:
    if endpoints is not None:
        (tmp_path / "endpoints.json").write_text(json.dumps(endpoints))
    return tmp_path


def test_endpoints_json_when_nothing_is_configured(tmp_path: Path) -> None:
    s = Settings(home=_home(tmp_path))
    target = running.clickhouse(s)
    assert (target.url, target.database, target.from_endpoints) == (
        ENDPOINTS["clickhouse_url"],
        "ts_running",
        True,
    )
    assert running.kafka_bootstrap(s) == "127.0.0.1:19092"
    assert running.collector(s) == "http://127.0.0.1:18080"


def test_settings_win_over_endpoints_json(tmp_path: Path) -> None:
    s = Settings(
        home=_home(tmp_path),
        clickhouse_url="clickhouse://me:pw@ch.example:9000",
        clickhouse_database="prod",
        kafka_bootstrap="kafka.example:9092",
        collector_url="https://collect.example.com/",
    )
    target = running.clickhouse(s)
    assert (target.url, target.database, target.from_endpoints) == (s.clickhouse_url, "prod", False)
    assert target.where() == "ch.example:9000"  # no password in messages
    assert running.kafka_bootstrap(s) == "kafka.example:9092"
    assert running.collector(s) == "https://collect.example.com"


def test_nothing_running_or_configured(tmp_path: Path) -> None:
    s = Settings(home=_home(tmp_path, None))
    with pytest.raises(running.NoStackError, match="no running stack: start `touchstream up`"):
        running.clickhouse(s)
    assert running.kafka_bootstrap(s) is None
    with pytest.raises(running.NoStackError, match="TOUCHSTREAM_COLLECTOR_URL"):
        running.collector(s)


def test_unreadable_endpoints_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "endpoints.json").write_text("{not json")
    with pytest.raises(running.NoStackError, match="endpoints.json"):
        running.clickhouse(Settings(home=tmp_path))


def test_analyst_login(tmp_path: Path) -> None:
    embedded = running.analyst(Settings(home=_home(tmp_path)))
    assert (embedded.host, embedded.port, embedded.user, embedded.password, embedded.database) == (
        "127.0.0.1", 19000, "analyst", "analyst", "ts_running",
    )  # fmt: skip
    external = Settings(home=tmp_path, clickhouse_url="clickhouse://admin:x@ch.example:9440")
    with pytest.raises(running.NoStackError, match="TOUCHSTREAM_ANALYST_PASSWORD"):
        running.analyst(external)
    login = running.analyst(external.model_copy(update={"analyst_password": SecretStr("s3cret")}))
    assert (login.host, login.port, login.user, login.password) == ("ch.example", 9440, "analyst", "s3cret")


def test_embedded_home_is_used_only_when_stopped_and_holding_data(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    assert not running.embedded_home_allowed(s)  # nothing there
    assert running.embedded_home_allowed(s, fresh=True)
    (tmp_path / "clickhouse" / "data").mkdir(parents=True)
    (tmp_path / "clickhouse" / "run").mkdir()
    assert running.embedded_home_allowed(s)
    with socket.socket() as server:  # a server still answering on the recorded port: up is starting
        server.bind(("127.0.0.1", 0))
        server.listen()
        (tmp_path / "clickhouse" / "run" / "ports.tsv").write_text(f"{server.getsockname()[1]}\t0\n")
        with pytest.raises(running.NoStackError, match="still starting"):
            running.embedded_home_allowed(s)


def test_endpoints_left_by_a_dead_up_are_no_stack(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    s = Settings(home=_home(tmp_path, {**ENDPOINTS, "pid": dead.stdout.strip()}))
    assert running.read_endpoints(s) is None
    with pytest.raises(running.NoStackError, match="no running stack.*is left from"):
        running.clickhouse(s)
    assert running.kafka_bootstrap(s) is None
    alive = Settings(home=_home(tmp_path, {**ENDPOINTS, "pid": str(os.getpid())}))
    assert running.clickhouse(alive).url == ENDPOINTS["clickhouse_url"]
