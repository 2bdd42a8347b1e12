"""ClickHouse side: schema migrations, idempotent batched sinks, analyst SQL."""
