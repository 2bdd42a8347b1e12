"""``touchstream up``: the whole pipeline in the foreground until Ctrl-C / SIGTERM."""

from __future__ import annotations

import signal
import threading
import types

import typer
from rich.console import Console
from rich.table import Table

from cli.stack import Stack
from schemas.settings import Settings

__all__ = ["up"]


def _endpoints_table(endpoints: dict[str, str]) -> Table:
    table = Table(title="Touchstream is up", show_header=False)
    for key, value in endpoints.items():
        table.add_row(key, value)
    return table


def up(
    demo: bool = typer.Option(False, "--demo", help="also drive realistic synthetic B2B traffic"),
) -> None:
    """Start broker, ClickHouse, collector, stream workers, sink and monitor; stop on Ctrl-C."""
    console = Console()
    settings = Settings()
    stop = threading.Event()

    def _on_signal(signum: int, frame: types.FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    stack = Stack(settings)
    try:
        with console.status("starting Touchstream…"):
            endpoints = stack.start()
        console.print(_endpoints_table(endpoints))
        console.print(f"endpoints written to {stack.endpoints_file}; Ctrl-C stops everything.")
        while not stop.wait(1.0):
            dead = stack.dead_components()
            if dead:
                console.print(f"[red]component(s) exited: {', '.join(dead)}; see {settings.home}/logs[/red]")
                raise typer.Exit(1)
    finally:
        with console.status("stopping…"):
            stack.stop()
        console.print("stopped; data kept in", str(settings.home))
