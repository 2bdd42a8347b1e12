"""The one place untyped JSON is (de)serialized: orjson for dicts and bulk rows.

Typed payloads decode straight into pydantic models with ``model_validate_json``; this module is for
the rest (dead-letter envelopes, sink rows, HTTP answers).

Caller JSON is re-encoded with :func:`dumps_checked`: orjson reads 1024 levels of nesting but writes
only :data:`MAX_DEPTH`, and values decoded by other parsers (pydantic keeps integers beyond 64 bits)
may not encode at all. That is the caller's error, reported as :class:`JSONShapeError`, not a crash.
Free-form event fields have a lower bound still (``schemas.events.MAX_JSON_DEPTH``): pydantic's JSON
parser, which reads events back from Kafka, stops at 200 levels.
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


def dumps_checked(obj: Any, max_depth: int | None = None) -> bytes:
    """:func:`dumps` for caller-supplied values: raises :class:`JSONShapeError` naming the bad key.

    ``max_depth`` bounds nesting below orjson's own limit (``{"a": 1}`` is one level). About as fast
    as :func:`dumps` when the value encodes and is short or has few brackets: the nesting is walked,
    and the bad key searched for, only otherwise.
    """
    try:
        encoded = orjson.dumps(obj, option=_OPTS)
    except orjson.JSONEncodeError as exc:
        raise JSONShapeError(_bad_key(obj), _reason(str(exc))) from None
    # Cheapest first: deeper than N needs over 2N bytes, then over N opening brackets (~100 ns a count).
    if max_depth is not None and len(encoded) > 2 * max_depth:
        if encoded.count(b"[") + encoded.count(b"{") > max_depth and _deeper_than(obj, max_depth):
            items = obj.items() if isinstance(obj, dict) else ()
            key = next((k for k, v in items if _deeper_than(v, max_depth - 1)), "$")
            raise JSONShapeError(_plain(key), f"nested deeper than {max_depth} levels")
    return encoded


def _deeper_than(obj: Any, limit: int) -> bool:
    """Whether objects/arrays nest more than ``limit`` levels in ``obj`` (iterative: no recursion)."""
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def _plain(key: Any) -> str:
    return key if isinstance(key, str) and _PLAIN_KEY.fullmatch(key) else "$"


def _reason(message: str) -> str:
    return next((ours for theirs, ours in _REASONS if theirs in message), "not representable as JSON")


def _bad_key(obj: Any) -> str:
    """The top-level key whose value does not encode, if it is a plain name (never echo odd input)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            try:
                orjson.dumps(value, option=_OPTS)
            except orjson.JSONEncodeError:
                return _plain(key)
    return "$"


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON; raises :data:`JSONDecodeError` (a ``ValueError``) on bad input."""
    return orjson.loads(data)
