"""``touchstream identity show | why | split | unlink | relink``: the identity graph from the merge log
(``identity_edges``), and undoing one of its edges.

``show <email | person id | anonymous id | domain>`` prints the devices, people and accounts around it
and every edge with its source, event and time (the current link of each device / person marked, held
and revoked edges with their reason, flags); ``why --event <id>`` the edges that put a touch on its
account (reports/identity.py). ``split`` (device -> person), ``unlink`` (person -> account) and
``relink`` (either, restored) send the stream workers the command (:mod:`streams.identity_control`)
and then record it in ``identity_revocations``, which the SQL views read.
"""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from typing import Any

import typer
from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError
from rich.console import Console
from rich.table import Table

from cli import running
from cli.reporting import check_format, open_reader, user_errors
from reports.identity import Edge, explain_touch, graph_around
from reports.render import Column, fit_columns, render
from schemas import jsonio
from schemas.settings import Settings
from streams.erasure import ErasureRequestError
from streams.identity_control import EdgeKind, request_revocation

__all__ = ["identity_app"]

identity_app = typer.Typer(
    no_args_is_help=True, help="The identity graph: which ids were joined, by which event, and why."
)


FORMATS = ("table", "json")


EDGE_COLUMNS = (
    Column("kind", "edge"), Column("child", "from"), Column("parent", "to"), Column("source"),
    Column("event_id", "event"), Column("at", "time"), Column("current"), Column("status", "held / revoked"),
)  # fmt: skip
# A narrow terminal loses these whole columns first, never the ends of the ids (users copy them into
# `identity split`); --format json keeps everything.
DROPPABLE = ("event_id", "source", "at")


def _print_edges(console: Console, title: str, edges: list[Edge]) -> None:
    rows = [
        {
            "kind": e.kind,
            "child": e.child,
            "parent": e.parent,
            "source": e.source or "-",
            "event_id": e.event_id or "-",
            "at": _when(e.at),
            "current": "yes" if e.current else "",
            "status": _status(e),
        }
        for e in edges
    ]
    render(rows, fit_columns(rows, EDGE_COLUMNS, console, DROPPABLE), "table", title, console)


def _when(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def _status(e: Edge) -> str:
    parts = []
    if e.held:
        parts.append(f"held: {e.held}")
    if e.revoked:
        at = _when(e.revoked_at) if e.revoked_at is not None else "?"
        parts.append(f"revoked {at}" + (f" ({e.revoked_reason})" if e.revoked_reason else ""))
    return "; ".join(parts)


def _flag_table(flags: list[dict[str, Any]]) -> Table:
    table = Table(title="flags")
    for name in ("flag", "id", "count", "first", "last"):
        table.add_column(name)
    for f in flags:
        table.add_row(f["kind"], f["id"], str(f["count"]), f["first_at"], f["last_at"])
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
    _print_edges(console, title, graph.edges)
    if graph.flags:
        console.print(_flag_table(graph.flags))


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
        _print_edges(console, "edges", explanation.edges)


# --- split / unlink / relink -------------------------------------------------------------------------

_EDGE_EXISTS = {
    "device": "SELECT count() FROM {db}.identity_edges WHERE anonymous_id = %(c)s AND person_id = %(p)s "
    "AND held = ''",
    "account": "SELECT count() FROM {db}.identity_edges WHERE anonymous_id = '' AND person_id = %(c)s "
    "AND account_id = %(p)s AND held = ''",
}
_DESCRIBE = {"device": "device {child} -> person {parent}", "account": "person {child} -> account {parent}"}


def _actor() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return ""


def _writable_clickhouse(settings: Settings) -> tuple[Client, str]:
    """A client on the configured or running ClickHouse (as ``forget`` writes); exit 2 if none."""
    try:
        client, target = running.connect_clickhouse(settings)
    except running.NoStackError as exc:
        running.fail(str(exc))
    return client, target.database


def _change_edge(kind: EdgeKind, child: str, parent: str, revoked: bool, reason: str, fmt: str) -> None:
    """Check the edge, send the workers the command, then record it; see the module docstring."""
    if fmt not in FORMATS:
        running.fail(f"--format must be table or json, got {fmt!r}")
    child, parent = child.strip(), parent.strip()
    if kind == "account":
        parent = parent.lower()
    if not child or not parent:
        running.fail("an edge needs both ends")
    edge = _DESCRIBE[kind].format(child=child, parent=parent)
    settings = Settings()
    client, database = _writable_clickhouse(settings)
    try:
        ((count,),) = client.execute(_EDGE_EXISTS[kind].replace("{db}", database), {"c": child, "p": parent})
    except ClickHouseError as exc:
        running.fail(f"reading identity_edges failed: {str(exc).split('Stack trace:')[0].strip()}", 1)
    if not count:
        running.fail(f"no applied identity edge {edge} in identity_edges")
    bootstrap = running.kafka_bootstrap(settings)
    if bootstrap is None:
        running.fail("no broker configured or running (TOUCHSTREAM_KAFKA_BOOTSTRAP): nothing changed")
    try:
        request_revocation(bootstrap, kind, child, parent, revoked)
    except (ErasureRequestError, ValueError) as exc:
        running.fail(f"the stream workers were not told, nothing changed: {exc}", 1)
    now = datetime.now(UTC)
    row: dict[str, Any] = {
        "kind": kind,
        "child": child,
        "parent": parent,
        "revoked": int(revoked),
        "at": now,
        "reason": reason,
        "actor": _actor(),
    }
    try:
        client.execute(
            f"INSERT INTO {database}.identity_revocations "
            "(kind, child, parent, revoked, at, reason, actor) VALUES",
            [tuple(row.values())],
        )
    except ClickHouseError as exc:
        message = str(exc).split("Stack trace:")[0].strip()
        running.fail(
            f"the stream workers were told, but identity_revocations was not written ({message}); "
            "run the command again",
            1,
        )
    if fmt == "json":
        at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        typer.echo(jsonio.dumps({**row, "at": at}).decode())
        return
    what = "revoked" if revoked else "restored"
    typer.echo(f"{what} {edge} (reason: {reason or '-'}, by {row['actor'] or '-'})")
    typer.echo(
        f"command sent to the stream workers via {bootstrap}; credits are revised as the workers process "
        "it (SQL views: now)"
    )


@identity_app.command("split")
def split(
    device: str = typer.Option(..., "--device", help="the anonymous id"),
    person: str = typer.Option(..., "--person", help="the person id it must no longer resolve to"),
    reason: str = typer.Option("", "--reason", help="why (kept with the revocation)"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Revoke a device -> person edge: its touches leave the person (for the device's earlier person)."""
    _change_edge("device", device, person, True, reason, fmt)


@identity_app.command("unlink")
def unlink(
    person: str = typer.Option(..., "--person", help="the person id"),
    account: str = typer.Option(..., "--account", help="the account domain it must no longer resolve to"),
    reason: str = typer.Option("", "--reason", help="why (kept with the revocation)"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Revoke a person -> account edge: their touches leave the account (for their previous one, if any)."""
    _change_edge("account", person, account, True, reason, fmt)


@identity_app.command("relink")
def relink(
    device: str = typer.Option("", "--device", help="with --person: restore a device -> person edge"),
    person: str = typer.Option("", "--person", help="the person id"),
    account: str = typer.Option("", "--account", help="with --person: restore a person -> account edge"),
    reason: str = typer.Option("", "--reason", help="why (kept with the restoration)"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Restore an edge revoked by split or unlink: --device A --person P, or --person P --account X."""
    if not person or bool(device) == bool(account):
        running.fail("give --device and --person, or --person and --account")
    if device:
        _change_edge("device", device, person, False, reason, fmt)
    else:
        _change_edge("account", person, account, False, reason, fmt)
