"""``touchstream identity show | why``: the identity graph from the merge log (``identity_edges``).

``show <email | person id | anonymous id | domain>`` prints the devices, people and accounts around it
and every edge with its source, event and time (the current link of each device / person marked);
``why --event <id>`` the edges that put a touch on its account. Read-only; see reports/identity.py.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from cli import running
from cli.reporting import check_format, open_reader, user_errors
from reports.identity import Edge, explain_touch, graph_around
from schemas import jsonio
from schemas.settings import Settings

__all__ = ["identity_app"]

identity_app = typer.Typer(
    no_args_is_help=True, help="The identity graph: which ids were joined, by which event, and why."
)


FORMATS = ("table", "json")


def _edge_table(title: str, edges: list[Edge]) -> Table:
    table = Table(title=title)
    for name in ("edge", "from", "to", "source", "event", "time", "current"):
        table.add_column(name)
    for e in edges:
        at = e.at.isoformat(timespec="seconds").replace("+00:00", "Z")
        table.add_row(
            e.kind, e.child, e.parent, e.source or "-", e.event_id or "-", at, "yes" if e.current else ""
        )
    return table


@identity_app.command("show")
def show(
    query: str = typer.Argument(..., help="an e-mail, person id, anonymous id or account domain"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """The graph around an id: devices, people, accounts, and each edge with its source, event and time."""
    with user_errors():
        check_format(fmt, FORMATS)
        graph = graph_around(open_reader(Settings()), query)
    if graph is None:
        running.fail(f"no identity edge names {query!r}")
    if fmt == "json":
        typer.echo(jsonio.dumps(graph.as_dict()).decode())
        return
    console = Console()
    title = (
        f"identity graph of {graph.query} · {len(graph.devices)} devices, {len(graph.people)} people, "
        f"{len(graph.accounts)} accounts"
    )
    console.print(_edge_table(title, graph.edges))


@identity_app.command("why")
def why(
    event: str = typer.Option(..., "--event", help="the touch's event id"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Which edges put a touch on its account (its device's person, that person's account), or that
    it is unresolved."""
    with user_errors():
        check_format(fmt, FORMATS)
        explanation = explain_touch(open_reader(Settings()), event)
    if explanation is None:
        running.fail(f"no touchpoint with event id {event!r}")
    if fmt == "json":
        typer.echo(jsonio.dumps(explanation.as_dict()).decode())
        return
    console = Console()
    where = explanation.account_id or "no account (unresolved)"
    console.print(f"touch {explanation.event_id} → {where}: {explanation.reason}")
    if explanation.edges:
        console.print(_edge_table("edges", explanation.edges))
