"""``touchstream demo``: simulate weeks of B2B buying and send it to a running collector (or to a file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from demo import simulate
from demo.errors import DemoError
from demo.files import write_jsonl
from demo.sender import send_blocking
from schemas import jsonio
from schemas.settings import Settings

__all__ = ["collector_url", "demo"]


def collector_url(settings: Settings) -> str:
    """The collector of the running ``touchstream up``, from ``$TOUCHSTREAM_HOME/endpoints.json``."""
    path = settings.home / "endpoints.json"
    try:
        return str(jsonio.loads(path.read_bytes())["collector"])
    except (OSError, ValueError, KeyError) as exc:
        raise typer.BadParameter(
            f"no running collector found in {path}; start `touchstream up` or pass --collector"
        ) from exc


def demo(
    accounts: Annotated[int, typer.Option(min=1, help="companies to simulate")] = 200,
    days: Annotated[int, typer.Option(min=1, max=365, help="simulated period, ending now")] = 60,
    rate: Annotated[float, typer.Option(min=0, help="events per second (0 = as fast as possible)")] = 500.0,
    seed: Annotated[int, typer.Option(help="same seed, same companies, people and event ids")] = 7,
    collector: Annotated[
        str | None, typer.Option(help="collector URL (default: from endpoints.json)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="write contract events as JSON lines instead of sending")
    ] = None,
) -> None:
    """Send synthetic multi-week B2B journeys: accounts, people, all channels, CRM stages, spend."""
    console = Console(stderr=True)
    sim = simulate(accounts=accounts, days=days, seed=seed)
    if out is not None:
        written = write_jsonl(sim.events, out)
        console.print(f"wrote {written} events to {out}")
        return
    url = collector or collector_url(Settings())
    console.print(f"sending {len(sim.events)} simulated events ({accounts} accounts, {days} days) to {url}")
    try:
        stats = send_blocking(url, sim.requests(), rate=rate)
    except DemoError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(
        f"accepted {stats.accepted} events ({stats.rejected} rejected) in {stats.requests} requests, "
        f"{stats.retries} retries, {stats.rate():.0f} events/s"
    )
    for error in stats.errors[:5]:
        console.print(f"  [yellow]{error}[/yellow]")
    if stats.rejected:
        raise typer.Exit(2)
