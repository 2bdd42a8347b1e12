"""Numbered, append-only ClickHouse migrations (``NNNN_description.sql``), applied by :mod:`sinks.migrate`."""
