"""The live terminal dashboard of ``touchstream up --demo``: intake, lag, rows, conversions, channels."""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clickhouse_driver.errors import Error as ClickHouseError
from rich import box
from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from alerts.errors import AlertError
from alerts.identity import fetch_match_rate
from alerts.lag import LagProbe
from alerts.queries import fetch_opportunities
from alerts.velocity import velocity_reports
from attribution.errors import AttributionError
from attribution.markov import markov
from demo.readback import journeys_from_clickhouse, table_counts
from demo.sender import SendStats
from embedded.clickhouse import ANALYST_PASSWORD, ANALYST_USER
from schemas import tables
from sinks.client import connect

__all__ = ["Dashboard", "how_to_query", "query_command"]

STAGE = "mql"  # the stage the channel tables rank by: most conversions early in a demo run
_MARKOV_EVERY_S = 10.0


def _touchstream() -> str:
    """How to call the CLI from this shell: ``touchstream`` when on PATH, else the venv's script."""
    if shutil.which("touchstream"):
        return "touchstream"
    script = Path(sys.executable).parent / "touchstream"
    try:
        return str(script.relative_to(Path.cwd())) if script.exists() else f"{sys.executable} -m cli.main"
    except ValueError:
        return str(script)


def _with_home(command: str, home: str | None) -> str:
    """Prefix ``TOUCHSTREAM_HOME=…`` unless the stack runs on the default home of this directory."""
    if not home or Path(home).resolve() == Path(".touchstream").resolve():
        return command
    return f"TOUCHSTREAM_HOME={shlex.quote(home)} {command}"


def query_command(endpoints: dict[str, str]) -> str:
    """The one line an analyst pastes to query this stack as the read-only user."""
    sql = (
        "SELECT channel, round(sum(credit), 1) AS c FROM attribution_credits FINAL "
        "WHERE model = 'linear' GROUP BY 1 ORDER BY c DESC"
    )
    return _with_home(f'{_touchstream()} sql "{sql}"', endpoints.get("home"))


def how_to_query(endpoints: dict[str, str]) -> str:
    """Copy-paste commands for an analyst that work on this machine, with this run's ports."""
    db = endpoints.get("clickhouse_database", tables.DATABASE)
    http = endpoints.get("clickhouse_http", "")
    home = endpoints.get("home")
    cli = _touchstream()
    lines = [
        query_command(endpoints),
        _with_home(f"{cli} sql          # a prompt: statements end with ';'", home),
        _with_home(
            f"{cli} report --model all --format html   # writes {home or '.touchstream'}/report.html", home
        ),
    ]
    embedded = endpoints.get("clickhouse_url", "").startswith("clickhouse://default@127.0.0.1:")
    if http and embedded and shutil.which("curl"):  # the embedded server's analyst password
        lines.append(
            f"curl -s '{http}/?user={ANALYST_USER}&password={ANALYST_PASSWORD}&database={db}' "
            "--data-binary 'SELECT count() FROM touchpoints FINAL'"
        )
    return "\n".join(lines)


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
    identity: str = "—"
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
                "WHERE stage = %(stage)s AND credit != 0 GROUP BY model, channel ORDER BY model, c DESC",
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
        try:
            self._identity()
        except (AlertError, OSError) as exc:
            self.problems.append(f"identity: {exc}")

    def _identity(self) -> None:
        from datetime import UTC, datetime, timedelta

        rate = fetch_match_rate(self.client, self.database, datetime.now(UTC), timedelta(days=30))
        touches = "—" if rate.touch_rate is None else f"{rate.touch_rate:.0%}"
        conversions = "—" if rate.conversion_rate is None else f"{rate.conversion_rate:.0%}"
        self.identity = (
            f"{touches} of touches on an account, {conversions} of conversions with a touch, "
            f"{rate.shared_devices} shared devices"
        )

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

    # -- rendering ---------------------------------------------------------------------------
    def sender_errors(self) -> list[str]:
        """The demo sender's errors, newest first (a stopped sender's reason is the last one)."""
        return list(reversed(self.stats.errors)) if self.stats is not None else []

    def _status(self) -> Text:
        text = Text()
        if self.stats is not None:
            state = "stopped" if self.stats.done else "sending"
            style = "bold red" if self.stats.done and self.stats.errors else ""
            text.append(f"demo {self.stats.accepted:,} accepted ({state}", style)
            if self.stats.rejected:
                text.append(f", {self.stats.rejected:,} rejected", "yellow")
            text.append(f") {self.stats.rate():,.0f}/s · ", style)
        text.append(f"intake {self._rate:,.0f}/s · ")
        text.append("stream lag " + ("—" if self.lag is None else f"{self.lag:,}"))
        text.append(f" · {self.counts.get(tables.TOUCHPOINTS, 0):,} touchpoints")
        return text

    def _conversions_line(self) -> Text:
        stages = ("lead", "mql", "sql", "opportunity", "closed_won", "closed_lost")
        return Text("conversions " + " · ".join(f"{s} {self.stages.get(s, 0):,}" for s in stages))

    def _models(self, compact: bool) -> Table:
        title = f"Top channels per model · stage {STAGE} (credited conversions)"
        table = Table(
            title=title,
            title_justify="left",
            box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
            show_edge=not compact,
            padding=(0, 1),
            expand=compact,
        )
        table.add_column("model", no_wrap=True)
        table.add_column("top channels", no_wrap=True, overflow="ellipsis")
        for model, ranked in sorted(self.top.items()):
            table.add_row(model, ", ".join(f"{c} {v:.1f}" for c, v in ranked[: 3 if compact else 5]))
        if not self.top:
            table.add_row("—", "no credited conversions yet")
        return table

    def _problems(self, limit: int) -> Text | None:
        lines = [f"demo sender: {e}" for e in self.sender_errors()[:limit]] + self.problems[:limit]
        if not lines:
            return None
        return Text("\n".join(lines[:limit]), style="yellow", no_wrap=True, overflow="ellipsis")

    def _full(self) -> RenderableType:
        intake = Table.grid(padding=(0, 2))
        if self.stats is not None:
            state = "stopped" if self.stats.done else "sending"
            intake.add_row(
                "demo sender",
                f"{self.stats.accepted:,} accepted, {self.stats.rejected:,} rejected ({state}), "
                f"{self.stats.rate():,.0f}/s",
            )
        intake.add_row("touchpoints/s", f"{self._rate:,.0f}")
        intake.add_row("stream lag", "—" if self.lag is None else f"{self.lag:,} messages")
        intake.add_row("velocity", self.velocity)
        intake.add_row("identity", self.identity)
        rows = Table("table", "rows", title="ClickHouse")
        for name, count in self.counts.items():
            rows.add_row(name, f"{count:,}")
        stages = Table("stage", "conversions", title="Conversions")
        for stage in ("lead", "mql", "sql", "opportunity", "closed_won", "closed_lost"):
            stages.add_row(stage, f"{self.stages.get(stage, 0):,}")
        parts: list[RenderableType] = []
        problems = self._problems(5)
        if problems is not None:
            parts.append(problems)
        parts += [
            Columns([Panel(intake, title="Intake"), rows, stages]),
            self._models(compact=False),
            Panel(how_to_query(self.endpoints), title="Query it", border_style="dim"),
        ]
        return Group(*parts)

    def _compact(self, console: Console, options: ConsoleOptions, height: int) -> RenderableType:
        """What fits the screen, chosen by priority — top channels per model (always), the status
        line, sender errors, conversions, velocity, the query command, the match rate — shown errors
        first."""
        shown_order: list[RenderableType | None] = [
            self._problems(2),
            self._status(),
            self._models(compact=True),
            self._conversions_line(),
            Text(f"velocity {self.velocity}", no_wrap=True, overflow="ellipsis"),
            Text(f"identity {self.identity}", no_wrap=True, overflow="ellipsis"),
            Text("query it: " + query_command(self.endpoints), style="dim"),
        ]
        by_priority = (2, 1, 0, 3, 4, 6, 5)  # indexes into shown_order, most important first
        chosen: set[int] = set()
        used = 0
        for rank, index in enumerate(by_priority):
            part = shown_order[index]
            if part is None:
                continue
            lines = len(console.render_lines(part, options.update(height=None), pad=False))
            if rank > 0 and used + lines > height:
                continue
            chosen.add(index)
            used += lines
        return Group(*(p for i, p in enumerate(shown_order) if i in chosen and p is not None))

    def render(self) -> RenderableType:
        """A frame that lays itself out for the terminal it is drawn on (see :class:`_Frame`)."""
        return _Frame(self)


FULL_WIDTH, FULL_HEIGHT = 110, 40  # below either, the compact priority layout


@dataclass(frozen=True, slots=True)
class _Frame:
    dashboard: Dashboard

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        height = options.height or console.height
        if width >= FULL_WIDTH and height >= FULL_HEIGHT:
            yield self.dashboard._full()
        else:
            yield self.dashboard._compact(console, options, height)
