"""How every command finds the stack it reads or writes: ``TOUCHSTREAM_*`` settings first, else the
``$TOUCHSTREAM_HOME/endpoints.json`` a running ``touchstream up`` wrote. Never a second embedded server
on a running stack's data.

Per command (README, *Commands*):
- ``report``, ``kpis``, ``velocity``, ``sql``, ``monitor``, ``demo``, ``topics``, ``forget``: need a
  configured or running stack, else exit 2 with :data:`NO_STACK`. (``forget`` erases stream state
  through the running workers; on a stopped home the durable broker would keep it.)
- ``migrate``: on a stopped home (no endpoints.json, no server answering on its data) it starts the
  embedded ClickHouse for the duration of the command — see :func:`embedded_home_allowed`.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import typer
from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

from embedded.clickhouse import ANALYST_PASSWORD, ANALYST_USER
from schemas import jsonio
from schemas.settings import Settings
from sinks.client import connect, parse_url

__all__ = [
    "NO_STACK",
    "Analyst",
    "ClickHouseTarget",
    "NoStackError",
    "analyst",
    "clickhouse",
    "collector",
    "connect_clickhouse",
    "embedded_home_allowed",
    "fail",
    "kafka_bootstrap",
    "read_endpoints",
]

NO_STACK = "no running stack: start `touchstream up` or set TOUCHSTREAM_CLICKHOUSE_URL"


class NoStackError(Exception):
    """Nothing configured and nothing running (or endpoints.json unreadable); the message says which."""


@dataclass(frozen=True, slots=True)
class ClickHouseTarget:
    url: str
    database: str
    from_endpoints: bool  # True: found through endpoints.json (a running `touchstream up`)

    def where(self) -> str:
        """The address without credentials, for messages."""
        return self.url.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class Analyst:
    """Read-only login on the target ClickHouse."""

    host: str
    port: int
    user: str
    password: str
    database: str


def endpoints_file(settings: Settings) -> Path:
    return Path(settings.home) / "endpoints.json"


def read_endpoints(settings: Settings) -> dict[str, str] | None:
    """The running stack's endpoints, None when ``touchstream up`` is not running on this home."""
    path = endpoints_file(settings)
    try:
        data = jsonio.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise NoStackError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise NoStackError(f"{path} is not a JSON object")
    pid = str(data.get("pid") or "")
    if pid.isdigit() and not _alive(int(pid)):
        return None  # left behind by a `touchstream up` that was killed: nothing runs there
    return {str(k): str(v) for k, v in data.items() if v is not None}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _no_stack(settings: Settings) -> NoStackError:
    path = endpoints_file(settings)
    stale = f" ({path} is left from a `touchstream up` that is gone)" if path.exists() else ""
    return NoStackError(NO_STACK + stale)


def clickhouse(settings: Settings) -> ClickHouseTarget:
    """TOUCHSTREAM_CLICKHOUSE_URL, else the running stack's ClickHouse; :class:`NoStackError` if neither."""
    if settings.clickhouse_url:
        return ClickHouseTarget(settings.clickhouse_url, settings.clickhouse_database, False)
    endpoints = read_endpoints(settings)
    if endpoints is None:
        raise _no_stack(settings)
    url = endpoints.get("clickhouse_url")
    if not url:
        raise NoStackError(f"{endpoints_file(settings)} has no clickhouse_url")
    return ClickHouseTarget(url, endpoints.get("clickhouse_database") or settings.clickhouse_database, True)


def connect_clickhouse(settings: Settings) -> tuple[Client, ClickHouseTarget]:
    """A client on :func:`clickhouse` that answered ``SELECT 1``; :class:`NoStackError` otherwise."""
    target = clickhouse(settings)
    client = connect(target.url)
    try:
        client.execute("SELECT 1")
    except (ClickHouseError, OSError, EOFError) as exc:
        hint = (
            f" ({endpoints_file(settings)} is left from a stack that is gone? start `touchstream up`)"
            if target.from_endpoints
            else ""
        )
        raise NoStackError(f"ClickHouse at {target.where()} does not answer: {exc}{hint}") from exc
    return client, target


def kafka_bootstrap(settings: Settings) -> str | None:
    """TOUCHSTREAM_KAFKA_BOOTSTRAP, else the running stack's broker, else None."""
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    endpoints = read_endpoints(settings)
    return (endpoints or {}).get("kafka_bootstrap") or None


def collector(settings: Settings) -> str:
    """TOUCHSTREAM_COLLECTOR_URL, else the running stack's collector; :class:`NoStackError` if neither."""
    if settings.collector_url:
        return settings.collector_url.rstrip("/")
    endpoints = read_endpoints(settings)
    url = (endpoints or {}).get("collector")
    if not url:
        raise NoStackError(
            "no running collector: start `touchstream up`, set TOUCHSTREAM_COLLECTOR_URL or pass --collector"
        )
    return url


def analyst(settings: Settings) -> Analyst:
    """The read-only ``analyst`` login on the configured or running ClickHouse.

    Its password is TOUCHSTREAM_ANALYST_PASSWORD when set; a running embedded stack's is the one its
    users.xml defines. A configured external server without that setting has no known analyst login.
    """
    target = clickhouse(settings)
    if settings.analyst_password is not None:
        password = settings.analyst_password.get_secret_value()
    elif target.from_endpoints:
        password = ANALYST_PASSWORD
    else:
        raise NoStackError(
            "set TOUCHSTREAM_ANALYST_PASSWORD: the password of the read-only analyst user on "
            f"{target.where()}"
        )
    parts = parse_url(target.url)
    return Analyst(str(parts["host"]), int(str(parts["port"])), ANALYST_USER, password, target.database)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def embedded_home_allowed(settings: Settings, *, fresh: bool = False) -> bool:
    """True when the embedded ClickHouse may be started on ``home``'s data for one command.

    Only on a stopped home (the caller checked there is no endpoints.json) on which no server answers
    at the port the last embedded server recorded (``touchstream up`` may still be starting), and that
    already holds embedded data unless ``fresh``.
    """
    home = Path(settings.home)
    if not fresh and not (home / "clickhouse" / "data").is_dir():
        return False
    ports = home / "clickhouse" / "run" / "ports.tsv"
    try:
        tcp = int(ports.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return True
    if _answers("127.0.0.1", tcp):
        raise NoStackError(
            f"a ClickHouse server is serving {home} but there is no endpoints.json yet "
            "(`touchstream up` still starting?); try again once it is up"
        )
    return True


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (2: nothing to talk to)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
