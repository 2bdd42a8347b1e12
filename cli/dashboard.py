"""The live terminal dashboard of ``touchstream up --demo``: intake, lag, rows, conversions, channels."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from clickhouse_driver.errors import Error as ClickHouseError
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table

from alerts.errors import AlertError
from alerts.lag import LagProbe
from alerts.queries import fetch_opportunities
from alerts.velocity import velocity_reports
from attribution.errors import AttributionError
from attribution.markov import markov
from demo.readback import journeys_from_clickhouse, table_counts
from demo.sender import SendStats
from schemas import tables
from sinks.client import connect

__all__ = ["Dashboard", "how_to_query"]

STAGE = "mql"  # the stage the channel tables rank by: most conversions early in a demo run
_MARKOV_EVERY_S = 10.0


def how_to_query(endpoints: dict[str, str]) -> str:
    """Copy-paste commands for an analyst, with this run's ports and the read-only user."""
    db = endpoints.get("clickhouse_database", tables.DATABASE)
    native = endpoints.get("clickhouse_native", "127.0.0.1:9000")
    host, _, port = native.rpartition(":")
    http = endpoints.get("clickhouse_http", "http://127.0.0.1:8123")
    sql = (
        f"SELECT channel, round(sum(credit), 1) FROM {db}.attribution_credits FINAL "
        "WHERE model = 'linear' GROUP BY 1"
    )
    return "\n".join(
        [
            f"clickhouse-client --host {host} --port {port} --user analyst --password analyst -d {db}",
            f"curl -s '{http}/?user=analyst&password=analyst' --data-binary \"{sql}\"",
            f"python -c \"from clickhouse_driver import Client; print(Client('{host}', port={port}, "
            f"user='analyst', password='analyst').execute('SELECT count() FROM {db}.touchpoints'))\"",
            f"html report: .venv/bin/touchstream report --model all --format html "
            f"(writes {endpoints.get('home', '.touchstream')}/report.html)",
        ]
    )


@dataclass
class Dashboard:
    """Polls ClickHouse (and the broker for lag) and renders one rich frame per ``refresh``."""

    endpoints: dict[str, str]
    stats: SendStats | None = None
    embedded_broker: bool = True
    counts: dict[str, int] = field(default_factory=dict)
    stages: dict[str, int] = field(default_factory=dict)
    top: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    lag: int | None = None
    velocity: str = "—"
    problems: list[str] = field(default_factory=list)
    _rate: float = 0.0
    _last: tuple[float, int] | None = None
    _markov_at: float = 0.0

    def __post_init__(self) -> None:
        self.database = self.endpoints.get("clickhouse_database", tables.DATABASE)
        self.client = connect(self.endpoints["clickhouse_url"])
        self.lag_probe = LagProbe(self.endpoints["kafka_bootstrap"], embedded_broker=self.embedded_broker)

    def _sql(self, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return list(self.client.execute(query, params or {}))

    def refresh(self) -> None:
        self.problems = []
        db = self.database
        try:
            self.counts = table_counts(self.client, db)
            now, rows = time.monotonic(), self.counts.get(tables.TOUCHPOINTS, 0)
            if self._last is not None and now > self._last[0]:
                self._rate = (rows - self._last[1]) / (now - self._last[0])
            self._last = (now, rows)
            self.stages = dict(
                self._sql(f"SELECT stage, count() FROM `{db}`.conversions FINAL GROUP BY stage")
            )
            ranked = self._sql(
                f"SELECT model, channel, sum(credit) AS c FROM `{db}`.attribution_credits FINAL "
                "WHERE stage = %(stage)s GROUP BY model, channel ORDER BY model, c DESC",
                {"stage": STAGE},
            )
            top: dict[str, list[tuple[str, float]]] = {}
            for model, channel, credit in ranked:
                top.setdefault(model, []).append((channel, float(credit)))
            if now - self._markov_at > _MARKOV_EVERY_S or "markov" in top:
                self._markov_at = now
                paths, converted = journeys_from_clickhouse(self.client, db, STAGE)
                if sum(converted):
                    shares = markov(paths, converted)
                    total = sum(converted)
                    top["markov (journeys)"] = sorted(
                        ((c, s * total) for c, s in shares.items()), key=lambda x: -x[1]
                    )
            self.top = {**{k: v for k, v in self.top.items() if k == "markov (journeys)"}, **top}
        except (ClickHouseError, AttributionError, OSError) as exc:
            self.problems.append(f"ClickHouse: {exc}")
        try:
            self.lag = sum(self.lag_probe.measure().values())
        except (AlertError, OSError) as exc:
            self.lag = None  # never show a stale figure as if it were current
            self.problems.append(f"lag: {exc}")
        try:
            self._velocity()
        except (AlertError, ClickHouseError, OSError, ValueError) as exc:
            self.problems.append(f"velocity: {exc}")

    def _velocity(self) -> None:
        from datetime import UTC, datetime, timedelta

        end = datetime.now(UTC)
        opps = fetch_opportunities(self.client, self.database, end, end - timedelta(days=180))
        reports = velocity_reports(opps, end, timedelta(days=30), 3, ["overall"])
        if reports:
            rep = reports[0]
            self.velocity = (
                f"${rep.now.velocity:,.0f}/day (baseline ${rep.baseline.velocity:,.0f}/day, "
                f"{rep.now.open_opportunities:.0f} open opps, win rate {rep.now.win_rate:.0%})"
            )

    def render(self) -> RenderableType:
        intake = Table.grid(padding=(0, 2))
        if self.stats is not None:
            state = "stopped" if self.stats.done else "sending"
            intake.add_row(
                "demo sender", f"{self.stats.accepted:,} accepted ({state}), {self.stats.rate():,.0f}/s"
            )
        intake.add_row("touchpoints/s", f"{self._rate:,.0f}")
        intake.add_row("stream lag", "—" if self.lag is None else f"{self.lag:,} messages")
        intake.add_row("velocity", self.velocity)
        rows = Table("table", "rows", title="ClickHouse")
        for name, count in self.counts.items():
            rows.add_row(name, f"{count:,}")
        stages = Table("stage", "conversions", title="Conversions")
        for stage in ("lead", "mql", "sql", "opportunity", "closed_won", "closed_lost"):
            stages.add_row(stage, f"{self.stages.get(stage, 0):,}")
        models = Table("model", "top channels (credited conversions)", title=f"Top channels, stage {STAGE}")
        for model, ranked in sorted(self.top.items()):
            models.add_row(model, ", ".join(f"{c} {v:.1f}" for c, v in ranked[:3]))
        parts: list[RenderableType] = [
            Columns([Panel(intake, title="Intake"), rows, stages]),
            models,
            Panel(how_to_query(self.endpoints), title="Query it", border_style="dim"),
        ]
        if self.problems:
            parts.append("[yellow]" + "\n".join(self.problems[:3]) + "[/yellow]")
        return Group(*parts)
