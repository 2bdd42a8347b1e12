"""Find the ClickHouse to report on: the configured URL, else the one a running ``touchstream up`` wrote."""

from __future__ import annotations

from pathlib import Path

from clickhouse_driver.errors import Error as ClickHouseError

from reports.errors import ClickHouseUnavailableError
from reports.queries import Reader
from schemas import jsonio
from sinks.client import connect

__all__ = ["open_reader", "resolve_clickhouse"]


def resolve_clickhouse(url: str | None, database: str, home: Path) -> tuple[str, str]:
    """(url, database): ``url`` when set, else the ``clickhouse_url`` / ``_database`` of endpoints.json."""
    if url:
        return url, database
    endpoints_file = home / "endpoints.json"
    try:
        endpoints = jsonio.loads(endpoints_file.read_bytes())
    except FileNotFoundError:
        raise ClickHouseUnavailableError(
            f"no ClickHouse configured: set TOUCHSTREAM_CLICKHOUSE_URL or start `touchstream up` "
            f"(no {endpoints_file})"
        ) from None
    except (OSError, jsonio.JSONDecodeError) as exc:
        raise ClickHouseUnavailableError(f"cannot read {endpoints_file}: {exc}") from exc
    found = endpoints.get("clickhouse_url") if isinstance(endpoints, dict) else None
    if not isinstance(found, str) or not found:
        raise ClickHouseUnavailableError(f"{endpoints_file} has no clickhouse_url")
    return found, str(endpoints.get("clickhouse_database") or database)


def open_reader(url: str | None, database: str, home: Path) -> Reader:
    """A ``Reader`` on a ClickHouse that answered ``SELECT 1``; ``ClickHouseUnavailableError`` otherwise."""
    resolved_url, resolved_db = resolve_clickhouse(url, database, home)
    client = connect(resolved_url)
    try:
        client.execute("SELECT 1")
    except (ClickHouseError, OSError) as exc:
        raise ClickHouseUnavailableError(f"ClickHouse at {resolved_url} does not answer: {exc}") from exc
    return Reader(client, resolved_db)
