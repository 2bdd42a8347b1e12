"""``touchstream up``: the whole pipeline in the foreground until Ctrl-C / SIGTERM."""

from __future__ import annotations

import os
import secrets
import signal
import threading
import types
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from cli.stack import Stack, StackFailedError
from embedded.errors import EmbeddedServiceError
from schemas.settings import Settings
from streams.errors import TopicSetupError

if TYPE_CHECKING:
    from demo.sender import SendStats

__all__ = ["up"]


def _endpoints_table(endpoints: dict[str, str]) -> Table:
    table = Table(title="Touchstream is up", show_header=False)
    for key, value in endpoints.items():
        table.add_row(key, value)
    return table


# `up --demo`: a few weeks of history from a few hundred accounts, paced so the pipeline keeps up, then
# a live trickle of new accounts so the dashboard keeps moving.
DEMO_ACCOUNTS, DEMO_DAYS, DEMO_RATE = 300, 60, 300.0
LIVE_ACCOUNTS, LIVE_DAYS, LIVE_RATE = 10, 3, 20.0


def _start_demo(collector: str, stop: threading.Event, console: Console) -> SendStats:
    """Send the demo simulation from a background thread; returns its live counters.

    Every run draws a fresh seed: event ids derive from the seed, so a fixed seed would re-send the
    same ids with new timestamps on the next `make run` and pile up copies of old journeys.
    """
    from cli.demo import KEYS_HINT, demo_requests
    from demo import simulate
    from demo.errors import CollectorRejectedError, DemoError
    from demo.sender import SendStats, send_blocking

    settings = Settings()  # the keys the collector was started with: the demo signs with the first
    stats = SendStats()
    seed = secrets.randbelow(2**31)
    console.print(f"demo traffic: seed {seed} ({DEMO_ACCOUNTS} accounts over {DEMO_DAYS} days, then live)")

    def run() -> None:
        try:
            sim = simulate(accounts=DEMO_ACCOUNTS, days=DEMO_DAYS, seed=seed)
            send_blocking(collector, demo_requests(sim, settings), rate=DEMO_RATE, stats=stats, stop=stop)
            live_seed = seed
            while not stop.is_set():
                stats.done = False  # each send() marks the stats done; the live phase goes on
                live_seed += 1
                sim = simulate(accounts=LIVE_ACCOUNTS, days=LIVE_DAYS, seed=live_seed)
                send_blocking(collector, demo_requests(sim, settings), rate=LIVE_RATE, stats=stats, stop=stop)
        except DemoError as exc:
            stats.errors.append(str(exc))
            if isinstance(exc, CollectorRejectedError) and exc.status in (401, 403):
                stats.errors.append(KEYS_HINT)
        except Exception as exc:  # noqa: BLE001 - a dead sender thread must say why on the dashboard
            stats.errors.append(f"demo sender stopped: {exc!r}")
        finally:
            stats.done = True

    threading.Thread(target=run, name="demo-sender", daemon=True).start()
    return stats


def _watch(stack: Stack, settings: Settings, stop: threading.Event, console: Console, demo: bool) -> None:
    """Until stopped: the live dashboard with --demo, else a quiet wait; restart what dies."""
    dashboard = None
    if demo:
        from rich.live import Live

        from cli.dashboard import Dashboard

        stats = _start_demo(stack.endpoints["collector"], stop, console)
        dashboard = Dashboard(stack.endpoints, stats, embedded_broker=settings.embedded_kafka)
        live = Live(dashboard.render(), console=console, refresh_per_second=2)
        live.start()
    try:
        while not stop.wait(2.0 if demo else 1.0):
            try:
                restarted = stack.supervise()
            except StackFailedError as exc:
                console.print(f"[red]stopping: {exc}[/red]")
                raise typer.Exit(1) from exc
            if restarted:
                console.print(
                    f"[yellow]restarted {', '.join(restarted)} (it died; see {settings.home}/logs)[/yellow]"
                )
            if dashboard is not None:
                dashboard.refresh()
                live.update(dashboard.render())
    finally:
        if dashboard is not None:
            live.stop()


class _Interrupted(Exception):  # noqa: N818 - control flow, not an error
    """Ctrl-C / SIGTERM arrived while the stack was still starting."""


def up(
    demo: bool = typer.Option(False, "--demo", help="also drive realistic synthetic B2B traffic"),
) -> None:
    """Start broker, ClickHouse, collector, stream workers, sink and monitor; stop on Ctrl-C.

    The embedded broker keeps its log in $TOUCHSTREAM_HOME/kafka: the next `up` resumes from it.

    TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE=memory: in RAM, faster, but a crash may lose acknowledged events.
    """
    console = Console()
    if demo and not os.environ.get("TOUCHSTREAM_BRAND_TERMS"):
        from demo.touches import BRAND_TERM

        # The simulation searches for its own brand; without brand terms branded search would read 0.
        os.environ["TOUCHSTREAM_BRAND_TERMS"] = BRAND_TERM  # the children inherit it
    settings = Settings()
    stop = threading.Event()
    starting = threading.Event()

    def _on_signal(signum: int, frame: types.FrameType | None) -> None:
        stop.set()
        if starting.is_set():
            raise _Interrupted  # leave the blocking start at once; `finally` stops what is up

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    stack = Stack(settings)
    try:
        starting.set()
        with console.status("starting Touchstream…") as status:
            endpoints = stack.start(lambda note: status.update(f"starting Touchstream… {note}"))
        starting.clear()
        console.print(_endpoints_table(endpoints))
        note = stack.broker_note()
        if note is not None:
            in_memory = stack.kafka is not None and not stack.kafka.durable
            console.print(note, style="yellow" if in_memory else None, markup=False)
        console.print(f"endpoints written to {stack.endpoints_file}; Ctrl-C stops everything.")
        _watch(stack, settings, stop, console, demo)
    except _Interrupted:
        pass
    except (EmbeddedServiceError, TopicSetupError) as exc:
        console.print(f"[red]could not start: {exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        starting.clear()
        with console.status("stopping…"):
            stack.stop()
        console.print("stopped; data kept in", str(settings.home))
