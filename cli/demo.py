"""``touchstream demo``: simulate weeks of B2B buying and send it to a running collector (or to a file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli import running
from demo import Simulation, simulate
from demo.errors import CollectorRejectedError, DemoError
from demo.files import write_jsonl
from demo.sender import send_blocking
from demo.wire import Request
from schemas.settings import Settings

__all__ = ["demo", "demo_requests"]


KEYS_HINT = (
    "the demo signs with the first of TOUCHSTREAM_WRITE_KEYS / TOUCHSTREAM_SITE_KEYS: set them as the "
    "collector has them"
)


def demo_requests(sim: Simulation, settings: Settings) -> Iterator[Request]:
    """The simulation's collector requests signed with the configured keys (the first of each).

    With no site key configured, or origins restricted, page views go in write-key batches instead of
    the pixel.
    """
    write_keys = settings.write_key_values()
    if not write_keys:
        raise DemoError(
            "TOUCHSTREAM_WRITE_KEYS is empty: the demo sends CRM stages and spend with a write key"
        )
    site_key = settings.site_keys[0] if settings.site_keys else None
    # The simulated pixel sends no Origin/Referer: only allowed when any origin is.
    pixel = site_key is not None and "*" in settings.allowed_origins
    return sim.requests(write_key=write_keys[0], site_key=site_key if pixel else None)


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
    settings = Settings()
    try:
        url = collector or running.collector(settings)
    except running.NoStackError as exc:
        running.fail(str(exc))
    console.print(f"sending {len(sim.events)} simulated events ({accounts} accounts, {days} days) to {url}")
    try:
        stats = send_blocking(url, demo_requests(sim, settings), rate=rate)
    except DemoError as exc:
        console.print(f"[red]{exc}[/red]")
        if isinstance(exc, CollectorRejectedError) and exc.status in (401, 403):
            console.print(KEYS_HINT)
        raise typer.Exit(1) from exc
    console.print(
        f"accepted {stats.accepted} events ({stats.rejected} rejected) in {stats.requests} requests, "
        f"{stats.retries} retries, {stats.rate():.0f} events/s"
    )
    for error in stats.errors[:5]:
        console.print(f"  [yellow]{error}[/yellow]")
    if stats.rejected:
        raise typer.Exit(2)
