"""Entry point of the ``touchstream`` console script: registers one command per module."""

from __future__ import annotations

import typer

from cli.collector import collector
from cli.demo import demo
from cli.forget import forget
from cli.identity import identity_app
from cli.kpis import kpis
from cli.migrate import migrate
from cli.mix import mix
from cli.momentum import momentum_command
from cli.monitor import monitor
from cli.report import report
from cli.self_reported import self_reported
from cli.sink import sink
from cli.sql import sql
from cli.topics import topics
from cli.up import up
from cli.velocity import velocity
from cli.worker import worker

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Touchstream: B2B multi-touch attribution."
)
app.command()(up)
app.command()(migrate)
app.command()(demo)
app.command()(monitor)
app.command()(velocity)
app.command()(report)
app.command()(kpis)
app.command()(mix)
app.command("momentum")(momentum_command)
app.command("self-reported")(self_reported)
app.command()(topics)
app.command()(worker)
app.command()(collector)
app.command()(sink)
app.command()(forget)
app.command()(sql)
app.add_typer(identity_app, name="identity")

if __name__ == "__main__":
    app()
