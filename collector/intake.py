"""Request bodies to validated events: size and type limits, top-level dispatch, per-event errors."""

from __future__ import annotations

import re
import typing
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request

from collector.edge import Edge, RequestInfo
from collector.errors import RequestError
from schemas import jsonio
from schemas.errors import FieldError, JSONShapeError
from schemas.events import EVENT_ADAPTER, MAX_EVENT_BYTES, Event, EventType, validation_errors

__all__ = [
    "BROWSER_TYPES",
    "MAX_REQUEST_BYTES",
    "Intake",
    "as_objects",
    "decode_json",
    "events_from_body",
    "read_body",
    "validate_items",
]

MAX_REQUEST_BYTES = 500 * 1024
# What a public site key may send: anything else (crm_stage, spend, mention) needs a write key.
BROWSER_TYPES = frozenset({"page_view", "engagement", "identify", "form_submit"})
WRITE_KEY_TYPES = frozenset({"mention", "crm_stage", "spend"})
JSON = frozenset({"application/json"})


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


async def read_body(request: Request, accepted: frozenset[str]) -> bytes:
    """The body, at most :data:`MAX_REQUEST_BYTES` (after gunzip); 415 / 413 otherwise."""
    if media_type(request) not in accepted:
        raise RequestError(415, "unsupported content type; send " + " or ".join(sorted(accepted)))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise RequestError(413, f"request body exceeds {MAX_REQUEST_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise RequestError(413, f"request body exceeds {MAX_REQUEST_BYTES} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        body = _gunzip(body)
    return body


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_REQUEST_BYTES + 1)
    except zlib.error:
        raise RequestError(400, "body is not valid gzip") from None
    if len(out) > MAX_REQUEST_BYTES or inflater.unconsumed_tail:
        raise RequestError(413, f"decompressed body exceeds {MAX_REQUEST_BYTES} bytes")
    return out


def decode_json(body: bytes) -> Any:
    try:
        return jsonio.loads(body)
    except jsonio.JSONDecodeError:
        raise RequestError(400, "body is not valid JSON", [FieldError("$", "invalid JSON")]) from None


def events_from_body(payload: Any) -> list[Any]:
    """The event objects of a ``/v1/batch`` body, chosen by its top-level JSON type.

    The one place new body shapes plug in (the Segment ``{"batch": [...]}`` object comes next).
    """
    if isinstance(payload, list):
        return payload
    raise RequestError(400, "expected a JSON array of events", [FieldError("$", "expected an array")])


def as_objects(payload: Any) -> list[Any]:
    """Webhook bodies: one object or an array of them."""
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list) and payload:
        return payload
    raise RequestError(400, "expected a JSON object or a non-empty array", [FieldError("$", "bad shape")])


@dataclass(slots=True)
class Intake:
    """The outcome of validating a list of candidate events."""

    events: list[Event] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, index: int, errors: Sequence[FieldError]) -> None:
        self.rejected.append({"index": index, "errors": [e.as_dict() for e in errors]})


def validate_items(
    items: Sequence[Any],
    info: RequestInfo,
    edge: Edge,
    *,
    check_size: bool,
) -> Intake:
    """Enrich and validate each item; good ones are kept, bad ones reported by index."""
    out = Intake()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            out.reject(index, [FieldError("$", "an event must be a JSON object")])
            continue
        if check_size:
            try:
                size = len(jsonio.dumps_checked(item))
            except JSONShapeError as exc:  # e.g. properties nested deeper than JSON can be written
                out.reject(index, [_safe(exc.as_field_error())])
                continue
            if size > MAX_EVENT_BYTES:
                out.reject(index, [FieldError("$", f"event exceeds {MAX_EVENT_BYTES} bytes")])
                continue
        if info.is_site and item.get("type") in WRITE_KEY_TYPES:
            out.reject(index, [FieldError("type", "this event type needs a write key")])
            continue
        try:
            out.events.append(EVENT_ADAPTER.validate_python(edge.enrich(item, info)))
        except ValidationError as exc:
            out.reject(index, [_safe(e) for e in validation_errors(exc)])
    return out


_PLAIN_FIELD = re.compile(r"^[A-Za-z0-9_.]{1,64}$")
_TYPES = ", ".join(typing.get_args(EventType))


def _safe(error: FieldError) -> FieldError:
    """Never reflect input: unusual field names (the caller's own keys) and pydantic's tag echo go."""
    field = error.field if error.field == "$" or _PLAIN_FIELD.match(error.field) else "$unknown_field"
    reason = error.reason
    if reason.startswith("Input tag"):
        field, reason = "type", f"unknown event type; expected one of {_TYPES}"
    return FieldError(field, reason)
