"""Settings come from TOUCHSTREAM_* env vars; secrets stay masked."""

from __future__ import annotations

import pytest

from schemas.settings import Settings


def test_env_vars_and_comma_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUCHSTREAM_WRITE_KEYS", "k1, k2")
    monkeypatch.setenv("TOUCHSTREAM_SITE_KEYS", "site-a")
    monkeypatch.setenv("TOUCHSTREAM_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("TOUCHSTREAM_LOOKBACK_DEMAND_GEN_DAYS", "120")
    s = Settings()
    assert s.write_key_values() == ["k1", "k2"]
    assert s.site_keys == ["site-a"]
    assert s.kafka_bootstrap == "kafka:9092" and not s.embedded_kafka
    assert s.embedded_clickhouse
    assert s.lookback_demand_gen_days == 120
    assert "k1" not in repr(s)


def test_invalid_values_fail_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUCHSTREAM_PARTITIONS", "0")
    with pytest.raises(ValueError, match="partitions"):
        Settings()


def test_the_embedded_broker_is_durable_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE", raising=False)
    assert Settings().embedded_kafka_storage == "durable"
    monkeypatch.setenv("TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE", "memory")
    assert Settings().embedded_kafka_storage == "memory"
