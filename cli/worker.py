"""``touchstream worker``: one stream worker (enrich + stitch, journeys + credit) until stopped."""

from __future__ import annotations

import os

import typer

from schemas.errors import ConfigError
from schemas.settings import Settings
from streams.config import StreamConfig

__all__ = ["worker"]


def worker(
    topic_suffix: str = typer.Option("", help="suffix of every stream topic and the app id (tests)"),
    batch: int = typer.Option(2000, help="max events per processing batch"),
) -> None:
    """Run a stream worker; start several (TOUCHSTREAM_STREAM_WORKERS) to share the partitions."""
    from streams.worker import WorkerOptions, run_worker  # faust: ~1 s of imports every other command skips

    s = Settings()
    if s.kafka_bootstrap is None:
        raise typer.BadParameter("TOUCHSTREAM_KAFKA_BOOTSTRAP is required (`touchstream up` sets it)")
    try:
        config = StreamConfig.build(
            rules_path=s.channel_rules,
            brand_terms=tuple(s.brand_terms),
            topic_suffix=topic_suffix,
            demand_gen_days=s.lookback_demand_gen_days,
            lead_gen_days=s.lookback_lead_gen_days,
            half_life_days=s.time_decay_half_life_days,
            self_reported_map=s.self_reported_map,
            dedupe_days=s.dedupe_days,
            identity_guards=s.identity_guards,
        )
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    replica = int(os.environ.get("TOUCHSTREAM_REPLICA", "0"))  # set per process by `touchstream up`
    run_worker(
        config,
        WorkerOptions(
            bootstrap=s.kafka_bootstrap,
            home=s.home,
            partitions=s.partitions,
            embedded_broker=s.embedded_broker,
            store=s.stream_store,
            replica=replica,
            metrics_port=s.metrics_port,
            metrics_host=s.metrics_host,
            loglevel=s.log_level.lower(),
            batch=batch,
        ),
    )
