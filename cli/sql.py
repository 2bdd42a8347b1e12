"""``touchstream sql``: run SQL as the read-only analyst user on the configured or running ClickHouse."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError
from clickhouse_driver.errors import NetworkError, ServerException
from rich.console import Console

from cli import running
from cli.sqlshell import FORMATS, Result, complete, format_result, split_statements
from schemas.settings import Settings

__all__ = ["sql"]

_PROMPT, _MORE = "touchstream> ", "         -> "
_QUIT = frozenset({"exit", "quit", r"\q", "exit;", "quit;"})


class _UnreachableError(Exception):
    """The server did not answer (as opposed to answering with an error)."""


def _message(exc: ClickHouseError) -> str:
    """ClickHouse's own message without the server-side stack trace."""
    text = exc.message if isinstance(exc, ServerException) else str(exc)
    text = text.split("Stack trace:", 1)[0].strip()
    code = getattr(exc, "code", None)
    return f"Code: {code}. {text}" if isinstance(exc, ServerException) and code else text


def _run(client: Client, statement: str) -> Result:
    try:
        rows, columns = client.execute(statement, with_column_types=True)
    except (NetworkError, EOFError, OSError) as exc:
        raise _UnreachableError(str(exc)) from exc
    return Result([(str(n), str(t)) for n, t in columns], [tuple(r) for r in rows])


def _show(result: Result, fmt: str, out: Console) -> None:
    rendered = format_result(result, fmt)
    if isinstance(rendered, str):
        typer.echo(rendered, nl=not rendered.endswith("\n"))
    else:
        out.print(rendered)


def _execute_all(client: Client, statements: list[str], fmt: str, out: Console, err: Console) -> int:
    """Run in order, stop at the first error; the exit code (0, or 1 after a ClickHouse error)."""
    for statement in statements:
        try:
            result = _run(client, statement)
        except ClickHouseError as exc:
            typer.echo(f"error: {_message(exc)}", err=True)
            return 1
        _show(result, fmt, out)
    return 0


def _prompt(client: Client, fmt: str, out: Console, err: Console) -> int:
    """Read statements until ``;``, run each, repeat until EOF or ``exit``.

    Exit code 1 when a statement failed and the input was piped (a script); a person at the prompt
    has seen each error already."""
    interactive = sys.stdin.isatty()
    if interactive:
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:
            pass
        err.print("type SQL ending with ';' — exit or Ctrl-D leaves", style="dim")
    failed = 0
    buffer: list[str] = []
    while True:
        try:
            line = input((_MORE if buffer else _PROMPT) if interactive else "")
        except EOFError:
            break
        except KeyboardInterrupt:
            buffer = []
            err.print()
            continue
        if not buffer and line.strip().lower() in _QUIT:
            break
        buffer.append(line)
        text = "\n".join(buffer)
        if not complete(text):
            continue
        buffer = []
        failed |= _execute_all(client, split_statements(text), fmt, out, err)
    rest = split_statements("\n".join(buffer))
    if rest:  # input ended inside a statement without ';': run it, as a file would
        failed |= _execute_all(client, rest, fmt, out, err)
    return 0 if interactive else failed


def sql(
    query: Annotated[str | None, typer.Argument(help="SQL to run; none: read statements at a prompt")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    file: Annotated[
        Path | None, typer.Option("--file", help="run the statements of this file", dir_okay=False)
    ] = None,
) -> None:
    """Query as the read-only analyst user (SELECT only) on the configured or running ClickHouse."""
    if fmt not in FORMATS:
        running.fail(f"--format must be table, csv or json, got {fmt!r}")
    if query is not None and file is not None:
        running.fail("give a query or --file, not both")
    settings = Settings()
    try:
        login = running.analyst(settings)
    except running.NoStackError as exc:
        running.fail(str(exc))
    client = Client(
        host=login.host, port=login.port, user=login.user, password=login.password, database=login.database
    )
    out, err = Console(), Console(stderr=True)
    try:
        if file is not None:
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                running.fail(f"cannot read {file}: {exc}")
            code = _execute_all(client, split_statements(text), fmt, out, err)
        elif query is not None:
            code = _execute_all(client, split_statements(query) or [query], fmt, out, err)
        else:
            code = _prompt(client, fmt, out, err)
    except _UnreachableError as exc:
        running.fail(f"ClickHouse at {login.host}:{login.port} does not answer: {exc}")
    finally:
        client.disconnect()
    raise typer.Exit(code)
