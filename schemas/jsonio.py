"""The one place untyped JSON is (de)serialized: orjson for dicts and bulk rows.

Typed payloads decode straight into pydantic models with ``model_validate_json``; this module is for
the rest (dead-letter envelopes, sink rows, HTTP answers).
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dumps", "loads"]

JSONDecodeError = orjson.JSONDecodeError

_OPTS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_SERIALIZE_NUMPY


def dumps(obj: Any) -> bytes:
    """Serialize to compact UTF-8 JSON; datetimes as RFC 3339 with ``Z``."""
    return orjson.dumps(obj, option=_OPTS)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON; raises :data:`JSONDecodeError` (a ``ValueError``) on bad input."""
    return orjson.loads(data)
