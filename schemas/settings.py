"""One settings object for every deployable, read from ``TOUCHSTREAM_*`` environment variables.

Only ``cli/`` constructs it (``Settings()``); every other module receives it, or plain values from
it, as arguments. Unset Kafka / ClickHouse settings mean "start the embedded ones".
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings"]


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], NoDecode]
SecretList = Annotated[list[SecretStr], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOUCHSTREAM_", env_nested_delimiter="__", frozen=True)

    home: Path = Field(Path(".touchstream"), description="data of the embedded services, endpoints.json")

    # Kafka / ClickHouse: None = start the embedded ones.
    kafka_bootstrap: str | None = Field(None, description="host:port[,host:port]; unset = embedded broker")
    clickhouse_url: str | None = Field(
        None, description="clickhouse://user:password@host:9000 (native); unset = embedded server"
    )
    clickhouse_http_url: str | None = Field(None, description="HTTP endpoint shown to analysts")
    clickhouse_database: str = "touchstream"
    partitions: int = Field(4, ge=1, description="partitions per topic when Touchstream creates them")
    embedded_broker: bool = Field(
        False, description="set by `touchstream up`: the broker is the embedded Tansu, apply its workarounds"
    )
    metrics_port: int | None = Field(None, description="Prometheus port of worker/sink/monitor (None = off)")
    metrics_host: str = Field(
        "127.0.0.1", description="address the metrics port binds (0.0.0.0 in containers)"
    )

    # Embedded services' ports (0 = any free port).
    embedded_kafka_port: int = 9092
    embedded_kafka_storage: Literal["durable", "memory"] = Field(
        "durable",
        description="embedded broker log: durable (S3 store in home) or memory (may lose acked events)",
    )
    embedded_kafka_keep_consumed_s: float = Field(
        900.0,
        ge=-1,
        description="durable embedded broker: record batches every consumer group has read are deleted "
        "once this old (changelogs and unread topics are kept; -1 = keep everything)",
    )
    embedded_clickhouse_tcp_port: int = 9000
    embedded_clickhouse_http_port: int = 8123

    startup_timeout_s: float = Field(
        300.0, gt=0, description="`up` waits this long for workers to join and restore their state"
    )

    # Collector.
    collector_host: str = "127.0.0.1"
    collector_port: int = 8080
    collector_workers: int = Field(1, ge=1)
    collector_url: str | None = Field(
        None, description="collector base URL for `touchstream demo`; unset = the running stack's"
    )
    write_keys: SecretList = Field(default_factory=lambda: [SecretStr("dev-write-key")])
    site_keys: CommaList = Field(default_factory=lambda: ["dev-site-key"])
    snowplow_app_ids: CommaList = Field(
        default_factory=list,
        description="Snowplow appIds accepted as public site identities (origin checks, rate limits)",
    )
    allowed_origins: CommaList = Field(default_factory=lambda: ["*"])
    trusted_proxies: CommaList = Field(default_factory=list)
    ip_privacy: Literal["truncate", "hash", "drop"] = "truncate"
    geoip_db: Path | None = None
    rate_limit_per_key: float = Field(2000.0, description="requests per second per key (token bucket)")
    track_event_map: Path | None = Field(
        None,
        description="YAML mapping Segment/Snowplow event names to types (compat/track_events.yaml)",
    )
    kafka_compression: Literal["gzip", "lz4", "zstd", "snappy", "none"] = Field(
        "gzip", description="collector produce compression; lz4/zstd/snappy need cramjam (docs/collector.md)"
    )
    pixel_ack: Literal["broker", "async"] = Field(
        "broker", description="pixel answers after the Kafka ack, or (async) once queued (crash: may lose)"
    )
    self_reported_fields: CommaList = Field(
        default_factory=lambda: [
            "how_did_you_hear_about_us", "hdyhau", "self_reported_source", "self_reported",
            "heard_about_us", "lead_source_detail", "How_Did_You_Hear__c",
        ],
        description="form / CRM field names holding 'How did you hear about us?' (case and _ ignored)",
    )  # fmt: skip

    # Streams.
    stream_workers: int = Field(1, ge=1)
    lookback_demand_gen_days: int = 90
    lookback_lead_gen_days: int = 30
    time_decay_half_life_days: float = 7.0
    channel_rules: Path | None = Field(None, description="YAML overriding the channel classification rules")
    brand_terms: CommaList = Field(default_factory=list, description="brand words marking branded search")
    self_reported_map: Path | None = Field(
        None, description="YAML mapping 'how did you hear about us' answers to channels (default bundled)"
    )
    identity_guards: Path | None = Field(
        None, description="YAML of the identity guards: role addresses, shared devices (default bundled)"
    )
    dedupe_days: int = Field(
        7, ge=0, description="days stage 1 remembers an event id to drop later copies of it (0 = off)"
    )
    stream_store: Literal["rocksdb", "memory"] = Field("rocksdb", description="faust table store of workers")

    # Sink (ClickHouse side).
    sink_workers: int = Field(1, ge=1, description="sink replicas started by `up` (one consumer group)")
    sink_batch_rows: int = Field(50_000, ge=1, description="rows per ClickHouse insert, per table")
    sink_batch_seconds: float = Field(1.0, gt=0, description="max wait before a partial batch is inserted")
    touchpoints_ttl_days: int | None = Field(
        None, ge=1, description="drop raw touchpoints older than this (applied on sink start); unset = keep"
    )
    analyst_password: SecretStr | None = Field(
        None,
        description="create the read-only `analyst` ClickHouse user with this password (external server)",
    )

    # Alerts.
    alert_webhook: SecretStr | None = Field(None, description="Slack-compatible incoming webhook URL")
    alert_generic_webhook: SecretStr | None = Field(None, description="generic JSON webhook URL for alerts")
    alert_rules: Path | None = None
    alert_interval_s: float = 60.0

    log_level: str = "INFO"

    _split_lists = field_validator(
        "write_keys",
        "site_keys",
        "snowplow_app_ids",
        "allowed_origins",
        "trusted_proxies",
        "brand_terms",
        "self_reported_fields",
        mode="before",
    )(_split)

    @property
    def embedded_kafka(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def embedded_clickhouse(self) -> bool:
        return self.clickhouse_url is None

    def write_key_values(self) -> list[str]:
        return [k.get_secret_value() for k in self.write_keys]
