"""The --demo dashboard by priority: top channels per model at 80x24, every panel at 160x48."""

from __future__ import annotations

from rich.console import Console

from cli.dashboard import Dashboard, how_to_query
from demo.sender import SendStats

MODELS = (
    "first", "last", "linear", "time_decay", "u_shaped", "w_shaped", "full_path",
    "last_non_direct", "shapley", "markov (journeys)",
)  # fmt: skip
ENDPOINTS = {
    "collector": "http://127.0.0.1:1",
    "kafka_bootstrap": "127.0.0.1:2",
    "clickhouse_url": "clickhouse://default@127.0.0.1:3",
    "clickhouse_http": "http://127.0.0.1:4",
    "clickhouse_database": "touchstream",
    "home": "/tmp/some-home",
}


def _dashboard(errors: list[str] | None = None) -> Dashboard:
    stats = SendStats(accepted=12_345, rejected=0, errors=list(errors or []), done=bool(errors))
    board = Dashboard(ENDPOINTS, stats)
    board.counts = {f"table_{i}": i * 1000 for i in range(12)} | {"touchpoints": 98_765}
    board.stages = {"lead": 40, "mql": 21, "sql": 9, "opportunity": 5, "closed_won": 2}
    board.top = {
        m: [("paid_search", 7.5 + i), ("organic_social", 5.25), ("podcast", 3.0), ("video", 1.0)]
        for i, m in enumerate(MODELS)
    }
    board.lag = 17
    board.velocity = "$1,234/day (baseline $1,000/day, 5 open opps, win rate 40%)"
    board.identity = "62% of touches on an account, 81% of conversions with a touch"
    return board


def _screen(board: Dashboard, width: int, height: int) -> list[str]:
    console = Console(width=width, height=height, record=True, color_system=None)
    console.print(board.render())
    lines = console.export_text().splitlines()
    return lines


def test_80x24_shows_every_model_with_its_top_channels_within_the_screen() -> None:
    lines = _screen(_dashboard(), 80, 24)
    assert len(lines) <= 24, "\n".join(lines)
    assert all(len(line) <= 80 for line in lines)
    text = "\n".join(lines)
    for i, model in enumerate(MODELS):
        row = next((line for line in lines if line.strip().startswith(model)), None)
        assert row is not None, f"{model} missing:\n{text}"
        assert f"paid_search {7.5 + i:.1f}" in row and "organic_social 5.2" in row, row
    assert "12,345 accepted" in text and "stream lag 17" in text


def test_80x24_puts_sender_errors_first() -> None:
    board = _dashboard(["/v1/batch answered 401: unknown write key", "set the keys"])
    lines = _screen(board, 80, 24)
    assert len(lines) <= 24
    assert "demo sender: set the keys" in lines[0]
    assert any("401: unknown write key" in line for line in lines[:2])
    assert any(line.strip().startswith("markov (journeys)") for line in lines)


def test_160x48_shows_every_panel() -> None:
    board = _dashboard(["/v1/batch answered 401: unknown write key"])
    lines = _screen(board, 160, 48)
    text = "\n".join(lines)
    assert len(lines) <= 48, text
    for visible in ("Intake", "ClickHouse", "Conversions", "Top channels", "Query it", "table_11",
                    "closed_won", "win rate 40%", "401: unknown write key", "video 1.0",
                    "62% of touches on an account"):  # fmt: skip
        assert visible in text, visible
    for model in MODELS:
        assert model in text


def test_query_panel_offers_touchstream_sql_not_clickhouse_client() -> None:
    text = how_to_query(ENDPOINTS)
    assert "clickhouse-client" not in text and "clickhouse client" not in text
    first = text.splitlines()[0]
    assert first.startswith("TOUCHSTREAM_HOME=/tmp/some-home ") and ' sql "SELECT channel' in first


def test_a_short_terminal_keeps_the_channels_over_everything_else() -> None:
    board = _dashboard(["/v1/batch answered 401: unknown write key", "set the keys"])
    lines = _screen(board, 80, 16)
    text = "\n".join(lines)
    assert len(lines) <= 16, text
    assert all(any(line.strip().startswith(m) for line in lines) for m in MODELS), text
    assert "query it" not in text
