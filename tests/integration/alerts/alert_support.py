"""Helpers for the alert tests: a fresh migrated database, row seeders, a recording HTTP receiver.

Not a conftest: the collector tests import names from a module called ``conftest``, so a second one
would shadow theirs. Test modules wrap these in fixtures.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from clickhouse_driver import Client

from alerts.detect import Alert
from embedded.clickhouse import EmbeddedClickHouse
from schemas import jsonio, tables
from sinks.client import connect
from sinks.migrate import apply_migrations


def fresh_database(clickhouse_server: EmbeddedClickHouse) -> Iterator[tuple[Client, str]]:
    """Velocity and intake read whole tables, so each test gets its own migrated database."""
    name = f"ts_alerts_{uuid.uuid4().hex[:10]}"
    admin = connect(clickhouse_server.url)
    apply_migrations(admin, name)
    yield connect(clickhouse_server.url, database=name), name
    admin.execute(f"DROP DATABASE IF EXISTS {name}")


def insert_touchpoints(client: Client, rows: list[dict[str, object]]) -> None:
    cols = [
        "event_id",
        "ts",
        "account_id",
        "anonymous_id",
        "type",
        "channel",
        "channel_category",
        "source",
        "received_at",
    ]
    client.execute(
        f"INSERT INTO {tables.TOUCHPOINTS} ({', '.join(cols)}) VALUES",
        [tuple(r[c] for c in cols) for r in rows],
    )


def insert_conversions(client: Client, rows: list[dict[str, object]]) -> None:
    cols = ["conversion_id", "ts", "account_id", "person_id", "stage", "amount", "currency", "opportunity_id"]
    client.execute(
        f"INSERT INTO {tables.CONVERSIONS} ({', '.join(cols)}) VALUES",
        [tuple(r[c] for c in cols) for r in rows],
    )


def touchpoint(
    ts: datetime,
    *,
    source: str,
    account_id: str = "",
    type_: str = "page_view",
    channel: str = "organic_search",
    category: str = "lead_gen",
) -> dict[str, object]:
    return {
        "event_id": uuid.uuid4().hex,
        "ts": ts,
        "account_id": account_id,
        "anonymous_id": "anon",
        "type": type_,
        "channel": channel,
        "channel_category": category,
        "source": source,
        "received_at": ts + timedelta(milliseconds=150),
    }


@dataclass
class Receiver:
    """A real HTTP server on a free port that records JSON posts and answers scripted statuses."""

    statuses: list[int] = field(default_factory=list)  # consumed per request; then 200
    requests: list[tuple[str, dict[str, str], object]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def bodies(self) -> list[object]:
        return [b for _p, _h, b in self.requests]


def run_receiver() -> Iterator[Receiver]:
    rec = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                rec.requests.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, jsonio.loads(body))
                )
                status = rec.statuses.pop(0) if rec.statuses else 200
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    rec.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=rec.server.serve_forever, daemon=True)
    thread.start()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()
    thread.join(timeout=5)


@dataclass
class Recorder:
    """A notifier that keeps what it was sent."""

    name: str = "recorder"
    alerts: list[Alert] = field(default_factory=list)

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)
