"""Embedded Kafka-protocol broker and ClickHouse server, started from the project's own code.

They make `make run` and the test suite work with no Docker. Production points the same code at
Apache Kafka and ClickHouse through ``TOUCHSTREAM_KAFKA_BOOTSTRAP`` / ``TOUCHSTREAM_CLICKHOUSE_URL``.
"""
