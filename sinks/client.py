"""clickhouse-driver clients built from a ``clickhouse://`` URL."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from clickhouse_driver import Client

__all__ = ["connect", "parse_url"]


def parse_url(url: str) -> dict[str, object]:
    """Split ``clickhouse://user:password@host:port/database`` into driver keyword arguments."""
    parts = urlparse(url)
    kwargs: dict[str, object] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 9000,
        "user": unquote(parts.username or "default"),
        "password": unquote(parts.password or ""),
    }
    if parts.path.strip("/"):
        kwargs["database"] = parts.path.strip("/")
    return kwargs


def connect(url: str, database: str | None = None, **settings: object) -> Client:
    """A native-protocol client; ``database`` overrides the URL's, ``settings`` go to every query."""
    kwargs = parse_url(url)
    if database is not None:
        kwargs["database"] = database
    return Client(**kwargs, settings=settings or None)
