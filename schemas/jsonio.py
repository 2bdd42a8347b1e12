"""The one place untyped JSON is (de)serialized: orjson for dicts and bulk rows.

Typed payloads decode straight into pydantic models with ``model_validate_json``; this module is for
the rest (dead-letter envelopes, sink rows, HTTP answers).

Caller JSON is re-encoded with :func:`dumps_checked`: orjson reads 1024 levels of nesting but writes
only :data:`MAX_DEPTH`, and values decoded by other parsers (pydantic keeps integers beyond 64 bits)
may not encode at all. That is the caller's error, reported as :class:`JSONShapeError`, not a crash.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from schemas.errors import JSONShapeError

__all__ = ["MAX_DEPTH", "JSONDecodeError", "JSONShapeError", "dumps", "dumps_checked", "loads"]

JSONDecodeError = orjson.JSONDecodeError
MAX_DEPTH = 254  # nested arrays/objects orjson.dumps writes; one more raises "Recursion limit reached"

_OPTS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_SERIALIZE_NUMPY
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
# orjson's encode errors (fixed texts, no input in them) -> what the caller is told.
_REASONS = (
    ("Recursion limit", f"nested deeper than {MAX_DEPTH} levels"),
    ("64-bit", "integer outside the 64-bit range"),
    ("surrogates", "string is not valid UTF-8 (lone surrogate)"),
    ("Dict key", "object keys must be strings"),
)


def dumps(obj: Any) -> bytes:
    """Serialize to compact UTF-8 JSON; datetimes as RFC 3339 with ``Z``."""
    return orjson.dumps(obj, option=_OPTS)


def dumps_checked(obj: Any) -> bytes:
    """:func:`dumps` for caller-supplied values: raises :class:`JSONShapeError` naming the bad key.

    As fast as :func:`dumps` when the value encodes; the key is searched for only on failure.
    """
    try:
        return orjson.dumps(obj, option=_OPTS)
    except orjson.JSONEncodeError as exc:
        raise JSONShapeError(_bad_key(obj), _reason(str(exc))) from None


def _reason(message: str) -> str:
    return next((ours for theirs, ours in _REASONS if theirs in message), "not representable as JSON")


def _bad_key(obj: Any) -> str:
    """The top-level key whose value does not encode, if it is a plain name (never echo odd input)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            try:
                orjson.dumps(value, option=_OPTS)
            except orjson.JSONEncodeError:
                return key if isinstance(key, str) and _PLAIN_KEY.fullmatch(key) else "$"
    return "$"


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON; raises :data:`JSONDecodeError` (a ``ValueError``) on bad input."""
    return orjson.loads(data)
