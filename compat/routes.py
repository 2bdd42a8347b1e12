"""Segment / RudderStack and Snowplow endpoints on the collector, sharing its keys, limits and producer.

Mounted by :func:`mount` from ``compat.app.create_app``. Valid messages go to ``touchstream.events``
(touchpoints) or ``touchstream.product-events`` (unmapped names); each bad message is answered by
index while the good ones in the same request are kept, since the SDKs retry a whole batch or none.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector import intake, pixel
from collector.app import Collector
from collector.auth import Caller
from collector.edge import RequestInfo, origin_of
from collector.errors import RequestError
from collector.producer import EventProducer
from compat import segment, snowplow
from compat.cdn import segment_settings
from compat.errors import ForeignMessageError
from compat.mapped import Mapped
from compat.names import TrackTable, load_track_table
from schemas import jsonio, topics
from schemas.errors import FieldError, JSONShapeError
from schemas.events import dump_event
from schemas.settings import Settings

__all__ = ["CompatIntake", "mount"]

SEGMENT_TYPES = frozenset({"application/json", "text/plain"})  # analytics.js posts text/plain
SNOWPLOW_TYPES = frozenset({"application/json"})
# analytics.js posts to /v1/<first letter of the call>, the HTTP API to /v1/<call>.
SHORT_PATHS = {"t": "track", "p": "page", "s": "screen", "i": "identify", "g": "group", "a": "alias"}
Rejected = list[dict[str, Any]]


def _json(status: int, body: Any) -> Response:
    return Response(jsonio.dumps(body), status, media_type="application/json")


def _basic_user(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        return base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")[0] or None
    except (binascii.Error, UnicodeDecodeError):
        return None


class CompatIntake:
    """Handlers for the foreign protocols; ``products`` is created on first use unless injected."""

    def __init__(
        self,
        c: Collector,
        table: TrackTable,
        products: EventProducer | None = None,
        app_ids: frozenset[str] = frozenset(),
    ) -> None:
        self.c = c
        self.table = table
        self.products = products
        self.app_ids = app_ids  # TOUCHSTREAM_SNOWPLOW_APP_IDS: public identities like site keys

    # -- shared steps -------------------------------------------------------------------------
    def key_caller(self, key: str, origin: str | None) -> Caller:
        """A write key, or a site key from an allowed origin (analytics.js puts its key in the page)."""
        caller = self.c.keys.write_caller(key)
        if caller is None:
            try:
                caller = self.c.keys.authenticate({}, key, allow_site=True, origin=origin)
            except RequestError as exc:
                message = "unknown write key" if exc.status == 401 else exc.message
                raise RequestError(exc.status, message) from None
        self.c.buckets.take(caller.source)
        return caller

    def segment_caller(self, request: Request, body_key: object) -> Caller:
        """Segment's three ways: HTTP Basic user, ``X-Write-Key``, or ``writeKey`` in the body."""
        headers = request.headers
        key = headers.get("x-write-key") or _basic_user(headers.get("authorization"))
        key = key or (body_key if isinstance(body_key, str) and body_key else None)
        if key is None:
            raise RequestError(401, "send the write key as the HTTP Basic user, X-Write-Key or writeKey")
        return self.key_caller(key, headers.get("origin"))

    def snowplow_caller(self, request: Request, app_ids: set[Any], origin: str | None) -> Caller:
        """A write key header, else the tracker's app id (``aid``): one of TOUCHSTREAM_SNOWPLOW_APP_IDS,
        or a site or write key. A listed app id is a public identity, checked like a site key (allowed
        origins, its own rate-limit bucket)."""
        headers = request.headers
        key = headers.get("x-write-key") or _basic_user(headers.get("authorization"))
        if key is None:
            app_id = next(iter(app_ids)) if len(app_ids) == 1 else None
            if not isinstance(app_id, str) or not app_id:
                raise RequestError(
                    401, "set the tracker's appId to a site key or a configured app id (one per request)"
                )
            if app_id in self.app_ids:
                if not self.c.keys.origin_allowed(origin):
                    raise RequestError(403, "origin not allowed for this app id")
                caller = Caller(f"snowplow:{app_id}", is_site=True)
                self.c.buckets.take(caller.source)
                return caller
            key = app_id
        return self.key_caller(key, origin)

    async def read(self, request: Request, accepted: frozenset[str]) -> Any:
        """The decoded JSON body; over Segment's 500 KB batch limit: 400 naming the limit, as Segment."""
        try:
            body = await intake.read_body(request, accepted)
        except RequestError as exc:
            if exc.status == 413:
                limit = segment.MAX_BATCH_BYTES // 1024
                raise RequestError(400, f"request exceeds the {limit} KB batch limit") from None
            raise
        return intake.decode_json(body)

    async def deliver(self, mapped: Mapped, info: RequestInfo, route: str) -> tuple[int, Rejected]:
        """Validate, produce what is valid and wait for the broker; returns (accepted, rejected)."""
        result = intake.validate_items(mapped.events, info, self.c.edge, check_size=False)
        rejected: Rejected = [
            {"index": i, "errors": [e.as_dict() for e in errs]} for i, errs in mapped.rejected
        ]
        rejected += [
            {"index": mapped.event_index[r["index"]], "errors": r["errors"]} for r in result.rejected
        ]
        rejected.sort(key=lambda r: int(r["index"]))
        if rejected:
            self.c.metrics.rejected.labels(route, info.source).inc(len(rejected))
        records = [(e.partition_key().encode(), dump_event(e)) for e in result.events]
        if self.products is None and mapped.product_events:
            self.products = EventProducer(self.c.producer.bootstrap, topics.PRODUCT_EVENTS)
        product_records = [
            ((p.anonymous_id or p.person_id or p.event_id).encode(), jsonio.dumps(p.model_dump(mode="json")))
            for p in mapped.product_events
        ]
        counts = Counter(e.type for e in result.events)
        # Free the mapped dicts and models before waiting for the ack: kept alive across the await
        # by dozens of concurrent requests, they survive into older GC generations and every
        # collection walks them again (measured: ~1/3 more CPU per event under load).
        del result
        mapped.events.clear()
        mapped.product_events.clear()
        if product_records and self.products is not None:
            await asyncio.gather(self.c.producer.send(records), self.products.send(product_records))
        else:
            # Awaited directly, as the native route does: gather's task would submit a tick later,
            # after concurrent requests' records, and split the producer's shared batches.
            await self.c.producer.send(records)
        for event_type, count in counts.items():
            self.c.count_accepted(event_type, info.source, count)
        if product_records:
            self.c.count_accepted("product_event", info.source, len(product_records))
        return len(records) + len(product_records), rejected

    async def segment_answer(self, mapped: Mapped, info: RequestInfo, route: str) -> Response:
        accepted, rejected = await self.deliver(mapped, info, route)
        if not accepted:
            return _json(400, {"error": "no valid message", "accepted": 0, "rejected": rejected})
        return _json(200, {"success": True, "accepted": accepted, "rejected": rejected})

    # -- Segment / RudderStack ----------------------------------------------------------------
    async def segment_batch(self, request: Request, caller: Caller, payload: dict[str, Any]) -> Response:
        """A ``{"batch": [...]}`` body on ``/v1/batch`` (the collector authenticated it already)."""
        if not isinstance(payload.get("batch"), list):  # neither shape: answer as the native API does
            reason = 'expected a JSON array of events or a Segment {"batch": [...]} object'
            raise RequestError(400, reason, [FieldError("$", reason)])
        info = self.c.info(request, caller)
        try:
            mapped = segment.map_batch(payload, received_at=info.received_at, table=self.table)
        except ForeignMessageError as exc:
            raise RequestError(400, "not a Segment batch", exc.errors) from None
        payload.clear()  # the parsed body is no longer needed: see deliver() on why it matters
        return await self.segment_answer(mapped, info, "segment_batch")

    async def segment_b(self, request: Request) -> Response:
        """analytics.js's batching endpoint (``/v1/b``): same body, key in the body or headers."""
        payload = await self.read(request, SEGMENT_TYPES)
        if not isinstance(payload, dict):
            raise RequestError(400, 'expected {"batch": [...]}')
        return await self.segment_batch(
            request, self.segment_caller(request, payload.get("writeKey")), payload
        )

    async def segment_call(self, request: Request) -> Response:
        """One call on ``/v1/track`` ... ``/v1/alias`` (or analytics.js's ``/v1/t`` ... ``/v1/a``)."""
        name = request.path_params["call"]
        call = SHORT_PATHS.get(name, name)
        if call not in segment.CALLS:
            return _json(404, {"error": "not found"})
        payload = await self.read(request, SEGMENT_TYPES)
        if not isinstance(payload, dict):
            raise RequestError(400, "expected one JSON object")
        caller = self.segment_caller(request, payload.get("writeKey"))
        try:
            size = len(jsonio.dumps_checked(payload))
        except JSONShapeError as exc:
            raise RequestError(400, f"invalid {call} call", [exc.as_field_error()]) from None
        if size > segment.MAX_MESSAGE_BYTES:
            raise RequestError(400, f"message exceeds the {segment.MAX_MESSAGE_BYTES // 1024} KB limit")
        info = self.c.info(request, caller)
        mapped = Mapped()
        try:
            mapped.add(
                0, segment.map_message(payload, received_at=info.received_at, table=self.table, call=call)
            )
        except ForeignMessageError as exc:
            raise RequestError(400, f"invalid {call} call", exc.errors) from None
        accepted, rejected = await self.deliver(mapped, info, "segment_" + call)
        if not accepted:
            return _json(400, {"error": f"invalid {call} call", "errors": rejected[0]["errors"]})
        return _json(200, {"success": True})

    async def segment_settings(self, request: Request) -> Response:
        """What analytics.js fetches from its CDN before sending: points it back at this collector."""
        key = request.path_params["write_key"]
        self.key_caller(key, request.headers.get("origin"))
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        body = segment_settings(key, api_host=host + "/v1", protocol=request.url.scheme)
        return Response(jsonio.dumps(body), 200, {"Cache-Control": "no-store"}, media_type="application/json")

    # -- Snowplow -----------------------------------------------------------------------------
    async def snowplow_post(self, request: Request) -> Response:
        body = await self.read(request, SNOWPLOW_TYPES)
        data = body.get("data") if isinstance(body, dict) else None
        # A non-string aid (a list is unhashable) counts as "no usable app id": the 401 below.
        aids = (p.get("aid") for p in data if isinstance(p, dict)) if isinstance(data, list) else ()
        app_ids = {aid if isinstance(aid, str) else None for aid in aids}
        caller = self.snowplow_caller(request, app_ids, request.headers.get("origin"))
        info = self.c.info(request, caller)
        try:
            mapped = snowplow.map_post(body, received_at=info.received_at, table=self.table)
        except ForeignMessageError as exc:
            raise RequestError(400, "not a Snowplow payload_data body", exc.errors) from None
        accepted, rejected = await self.deliver(mapped, info, "snowplow")
        status = 200 if accepted else 400
        return _json(status, {"accepted": accepted, "rejected": rejected})

    async def snowplow_pixel(self, request: Request) -> Response:
        """``GET /i``: one event in the query string; answers a 1x1 GIF like Snowplow's collector."""
        params = dict(request.query_params)
        referer = request.headers.get("referer")
        origin = request.headers.get("origin") or (origin_of(referer) if referer else None)
        caller = self.snowplow_caller(request, {params.get("aid")}, origin)
        info = self.c.info(request, caller)
        mapped = Mapped()
        try:
            mapped.add(0, snowplow.map_payload(params, received_at=info.received_at, table=self.table))
        except ForeignMessageError as exc:
            raise RequestError(400, "invalid Snowplow event", exc.errors) from None
        accepted, rejected = await self.deliver(mapped, info, "snowplow_pixel")
        if not accepted:
            return _json(400, {"error": "invalid Snowplow event", "errors": rejected[0]["errors"]})
        return Response(pixel.GIF, 200, {"Cache-Control": "no-store"}, media_type="image/gif")

    # -- wiring -------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        wrap = self.c.wrap
        post = ["POST", "OPTIONS"]
        return [
            Route("/v1/b", wrap("segment_batch", self.segment_b, cors=True), methods=post),
            Route(
                "/v1/projects/{write_key}/settings",
                wrap("segment_settings", self.segment_settings, cors=True),
                methods=["GET", "OPTIONS"],
            ),
            Route("/v1/{call}", wrap("segment_call", self.segment_call, cors=True), methods=post),
            Route(
                snowplow.POST_PATH,
                wrap("snowplow", self.snowplow_post, cors=True),
                methods=post,
            ),
            Route("/i", wrap("snowplow_pixel", self.snowplow_pixel), methods=["GET"]),
        ]

    async def close(self) -> None:
        if self.products is not None:
            await self.products.close()


def mount(app: Starlette, c: Collector, settings: Settings) -> CompatIntake:
    """Add the foreign-protocol routes to the collector app; the product-event producer closes with it."""
    compat = CompatIntake(
        c, load_track_table(settings.track_event_map), app_ids=frozenset(settings.snowplow_app_ids)
    )
    app.router.routes.extend(compat.routes())
    c.segment_batch = compat.segment_batch
    app.state.compat = compat
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            try:
                yield state
            finally:
                await compat.close()

    app.router.lifespan_context = lifespan
    return compat
