"""The collector ASGI app: routes, CORS, error answers and the produce-then-answer contract.

Starlette on uvicorn (httptools + uvloop): a thin router over plain functions keeps the per-request
overhead low, which is what the pixel's ratio to a no-op route measures (see bench/collector.py).
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector import crm, forms, intake, pixel, spend
from collector.auth import Caller, KeyRing, TokenBuckets
from collector.edge import Edge, GeoReader, RequestInfo, open_geoip, origin_of
from collector.errors import BrokerUnavailableError, RateLimitedError, RequestError
from collector.intake import Intake
from collector.metrics import CollectorMetrics
from collector.producer import EventProducer
from schemas import jsonio
from schemas.errors import ConfigError
from schemas.events import MAX_EVENT_BYTES, dump_event
from schemas.settings import Settings

__all__ = ["Collector", "Mount", "create_app"]

STATIC = Path(__file__).parent / "static"
_COOKIE_MAX_AGE = 2 * 365 * 24 * 3600
_COOKIE_SAFE = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_BATCH_TYPES = frozenset({"application/json", "text/plain"})  # text/plain: sendBeacon, no preflight
_FORM_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded"})
Handler = Callable[[Request], Awaitable[Response]]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(jsonio.dumps(body), status, headers, media_type="application/json")


class Collector:
    """Request handlers sharing one producer, key ring, rate limiter, edge and metrics."""

    def __init__(self, settings: Settings, producer: EventProducer, geoip: GeoReader | None) -> None:
        self.producer = producer
        self.keys = KeyRing(settings.write_key_values(), settings.site_keys, settings.allowed_origins)
        self.buckets = TokenBuckets(settings.rate_limit_per_key)
        secret = "\n".join(sorted(settings.write_key_values())).encode()
        self.edge = Edge(settings.trusted_proxies, settings.ip_privacy, secret, geoip)
        self.metrics = CollectorMetrics()
        self.tracker_js = (STATIC / "t.js").read_bytes()
        self.pixel_async = settings.pixel_ack == "async"
        self.self_reported_fields = tuple(settings.self_reported_fields)
        self.crm_mapper = functools.partial(
            crm.event_from_crm, self_reported_fields=self.self_reported_fields
        )
        self._accepted: dict[tuple[str, str], Any] = {}
        # Segment / RudderStack ``{"batch": [...]}`` bodies on /v1/batch; set by compat.routes.mount.
        self.segment_batch: Callable[[Request, Caller, dict[str, Any]], Awaitable[Response]] | None = None

    # -- shared steps -------------------------------------------------------------------------
    def caller(
        self,
        request: Request,
        *,
        allow_site: bool,
        origin: str | None = None,
        site_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Caller:
        if allow_site and site_key is None:
            site_key = request.query_params.get("k")
        headers = request.headers if headers is None else headers
        caller = self.keys.authenticate(headers, site_key, allow_site=allow_site, origin=origin)
        self.buckets.take(caller.source)
        return caller

    def info(self, request: Request, caller: Caller, headers: Mapping[str, str] | None = None) -> RequestInfo:
        headers = request.headers if headers is None else headers
        peer = request.client.host if request.client else None
        ip = self.edge.client_ip(peer, headers.get("x-forwarded-for"))
        ua = headers.get("user-agent")
        return RequestInfo(
            received_at=datetime.now(UTC),
            source=caller.source,
            is_site=caller.is_site,
            ip=self.edge.private_ip(ip),
            country=self.edge.country(ip),
            user_agent=ua[:1024] if ua else None,
        )

    def count_accepted(self, event_type: str, source: str, n: int) -> None:
        """Bump the accepted counter through a cached child (labels() is slower than inc())."""
        child = self._accepted.get((event_type, source))
        if child is None:
            if len(self._accepted) > 10_000:  # sources are keys, types a fixed set: bounded anyway
                self._accepted.clear()
            child = self._accepted[(event_type, source)] = self.metrics.accepted.labels(event_type, source)
        child.inc(n)

    def validate_mapped(
        self, objs: Sequence[Any], mapper: Callable[[Any], Any], info: RequestInfo, check_size: bool
    ) -> Intake:
        """Map webhook objects to event dicts, then validate; rejects keep the caller's indexes."""
        failed = Intake()
        mapped, where = [], []
        for index, obj in enumerate(objs):
            try:
                mapped.append(mapper(obj))
                where.append(index)
            except crm.UnknownShapeError as exc:
                failed.reject(index, [exc.error])
        out = intake.validate_items(mapped, info, self.edge, check_size=check_size)
        for rejected in out.rejected:
            rejected["index"] = where[rejected["index"]]
        out.rejected = sorted(failed.rejected + out.rejected, key=lambda r: int(r["index"]))
        return out

    async def produce(self, result: Intake, route: str, source: str) -> Response:
        """Answer 422 if nothing is valid, else produce the valid events and answer after the ack."""
        if result.rejected:
            self.metrics.rejected.labels(route, source).inc(len(result.rejected))
        if not result.events:
            return _json(422, {"error": "no valid event", "accepted": 0, "rejected": result.rejected})
        records = [(e.partition_key().encode(), dump_event(e)) for e in result.events]
        counts = Counter(e.type for e in result.events)
        # Free the validated events before waiting on the broker: objects kept alive across the
        # await are walked again and again by the garbage collector under load (measured on the
        # Segment route: 49 -> 31 us of CPU per event once they were dropped).
        result.events.clear()
        await self.producer.send(records)
        for event_type, count in counts.items():
            self.count_accepted(event_type, source, count)
        return _json(200, {"accepted": len(records), "rejected": result.rejected})

    # -- endpoints ----------------------------------------------------------------------------
    async def pixel(self, request: Request) -> Response:
        # Plain dicts: the pixel reads ~20 params and ~8 headers, and starlette's multidict and
        # header scans add up (profiled). Reversed so the first of repeated headers wins, as in starlette.
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(request.scope["headers"])}
        params = pixel.parse_query(request.scope["query_string"].decode("latin-1"))
        referer = headers.get("referer")
        origin = headers.get("origin") or (origin_of(referer) if referer else None)
        caller = self.caller(
            request, allow_site=True, origin=origin, site_key=params.get("k"), headers=headers
        )
        cookie = request.cookies.get(pixel.ANON_COOKIE) if "cookie" in headers else None
        anon = params.get("aid") or cookie or pixel.new_anonymous_id()
        raw = pixel.event_from_params(params, anon)
        info = self.info(request, caller, headers)
        result = intake.validate_items([raw], info, self.edge, check_size=False)
        if not result.events:
            self.metrics.rejected.labels("pixel", caller.source).inc()
            return _json(422, {"error": "invalid event", "errors": result.rejected[0]["errors"]})
        records = [(anon.encode(), dump_event(result.events[0]))]
        if self.pixel_async:  # TOUCHSTREAM_PIXEL_ACK=async: answer once queued (docs/collector.md)
            (await self.producer.send_nowait(records)).add_done_callback(self._async_outcome)
        else:
            await self.producer.send(records)
        self.count_accepted(result.events[0].type, caller.source, 1)
        response = _GifResponse()
        if cookie != anon:
            secure = request.scope["scheme"] == "https"
            if _COOKIE_SAFE.fullmatch(anon):  # the common case, without http.cookies' quoting machinery
                value = f"{pixel.ANON_COOKIE}={anon}; Max-Age={_COOKIE_MAX_AGE}; Path=/; SameSite=lax"
                response.raw_headers.append((b"set-cookie", (value + "; Secure" * secure).encode()))
            elif anon.isascii():  # http.cookies quotes ASCII; beyond Latin-1 the header cannot be written
                response.set_cookie(
                    pixel.ANON_COOKIE, anon, max_age=_COOKIE_MAX_AGE, samesite="lax", secure=secure
                )
        return response

    def _async_outcome(self, acked: asyncio.Future[Any]) -> None:
        """An async-acked pixel the broker did not take: it was answered 200, so count the loss."""
        if acked.cancelled() or acked.exception() is not None:
            self.metrics.produce_errors.inc()
            self.metrics.async_lost.inc()

    async def tracker(self, request: Request) -> Response:
        headers = {"Cache-Control": "public, max-age=300"}
        return Response(self.tracker_js, 200, headers, media_type="application/javascript")

    async def batch(self, request: Request) -> Response:
        caller = self.caller(request, allow_site=True)
        body = await intake.read_body(request, _BATCH_TYPES)
        payload = intake.decode_json(body)
        if isinstance(payload, dict) and self.segment_batch is not None:
            return await self.segment_batch(request, caller, payload)
        items = intake.events_from_body(payload)
        if not items:
            raise RequestError(400, "the batch is empty")
        info = self.info(request, caller)
        result = intake.validate_items(items, info, self.edge, check_size=len(body) > MAX_EVENT_BYTES)
        del payload, items, body  # nothing of the request body stays alive across the broker wait
        return await self.produce(result, "batch", caller.source)

    async def form(self, request: Request) -> Response:
        caller = self.caller(request, allow_site=True)
        body = await intake.read_body(request, _FORM_TYPES)
        if intake.media_type(request) == "application/json":
            fields = intake.decode_json(body)
            if not isinstance(fields, dict):
                raise RequestError(400, "expected a JSON object of form fields")
        else:
            fields = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=False))
        form_id = request.path_params["form_id"]
        raws = forms.events_from_form(
            form_id, fields, request.cookies.get(pixel.ANON_COOKIE), self.self_reported_fields
        )
        result = intake.validate_items(raws, self.info(request, caller), self.edge, check_size=True)
        if result.rejected:  # a submission is one unit: both events or neither
            self.metrics.rejected.labels("form", caller.source).inc()
            return _json(422, {"error": "invalid form submission", "rejected": result.rejected})
        return await self.produce(result, "form", caller.source)

    async def crm(self, request: Request) -> Response:
        caller = self.caller(request, allow_site=False)
        body = await intake.read_body(request, intake.JSON)
        objs = intake.as_objects(intake.decode_json(body))
        info = self.info(request, caller)
        result = self.validate_mapped(objs, self.crm_mapper, info, len(body) > MAX_EVENT_BYTES)
        return await self.produce(result, "crm", caller.source)

    async def spend(self, request: Request) -> Response:
        caller = self.caller(request, allow_site=False)
        body = await intake.read_body(request, intake.JSON)
        rows = intake.as_objects(intake.decode_json(body))
        info = self.info(request, caller)
        result = self.validate_mapped(rows, spend.event_from_spend, info, len(body) > MAX_EVENT_BYTES)
        return await self.produce(result, "spend", caller.source)

    async def healthz(self, request: Request) -> Response:
        if await self.producer.reachable():
            return _json(200, {"status": "ok"})
        return _json(503, {"status": "broker unreachable"}, {"Retry-After": str(self.producer.retry_after_s)})

    async def metrics_page(self, request: Request) -> Response:
        return Response(generate_latest(self.metrics.registry), 200, media_type=CONTENT_TYPE_LATEST)

    # -- wrapping -----------------------------------------------------------------------------
    def wrap(self, route: str, handler: Handler, *, cors: bool = False) -> Handler:
        """Error answers, CORS headers and metrics around one handler."""
        # Metric children resolved once: labels() costs more than the increment itself.
        requests, latency = self.metrics.requests, self.metrics.latency.labels(route)
        counters: dict[int, Any] = {}

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            origin = request.headers.get("origin") if cors else None
            if cors and request.method == "OPTIONS":
                response = self.preflight(origin)
            else:
                try:
                    response = await handler(request)
                except RateLimitedError as exc:
                    response = _json(429, {"error": exc.message}, {"Retry-After": str(exc.retry_after)})
                except RequestError as exc:
                    body = {"error": exc.message, "errors": [e.as_dict() for e in exc.errors]}
                    response = _json(exc.status, body)
                except BrokerUnavailableError as exc:
                    self.metrics.produce_errors.inc()
                    self.metrics.broker_down.inc()
                    response = _json(
                        503, {"error": "event broker unavailable; nothing was accepted, retry later"},
                        {"Retry-After": str(exc.retry_after)},
                    )  # fmt: skip
            if origin is not None and self.keys.origin_allowed(origin):
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Allow-Credentials"] = "true"
                response.headers["Vary"] = "Origin"
            counter = counters.get(response.status_code)
            if counter is None:
                counter = counters[response.status_code] = requests.labels(route, str(response.status_code))
            counter.inc()
            latency.observe(time.perf_counter() - started)
            return response

        return endpoint

    def preflight(self, origin: str | None) -> Response:
        if origin is None or not self.keys.origin_allowed(origin):
            return _json(403, {"error": "origin not allowed"})
        headers = {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, X-Write-Key, Authorization",
            "Access-Control-Max-Age": "600",
        }
        return Response(None, 204, headers)


class _GifResponse(Response):
    """The pixel's answer with its headers built once, not per hit."""

    _HEADERS = [
        (b"content-length", str(len(pixel.GIF)).encode()),
        (b"content-type", b"image/gif"),
        (b"cache-control", b"no-store"),
    ]

    def __init__(self) -> None:  # not super().__init__: that would rebuild the headers per hit
        self.status_code = 200
        self.body = pixel.GIF
        self.background = None
        self.raw_headers = list(self._HEADERS)


Mount = Callable[[Starlette, Collector, Settings], object]
"""Adds routes to the collector app (``compat.app`` mounts the Segment and Snowplow protocols)."""


def create_app(
    settings: Settings, producer: EventProducer | None = None, mounts: Sequence[Mount] = ()
) -> Starlette:
    """The native collector app; ``mounts`` extend it. Without ``producer`` it builds one from
    settings and owns its lifecycle. ``compat.app.create_app`` is the app ``touchstream collector``
    serves: this one plus the foreign protocols."""
    owned = producer is None
    if producer is None:
        if settings.kafka_bootstrap is None:
            raise ConfigError("the collector needs TOUCHSTREAM_KAFKA_BOOTSTRAP (the broker to produce to)")
        producer = EventProducer(
            settings.kafka_bootstrap,
            compression=settings.kafka_compression,
            client_per_partition=settings.embedded_broker,
        )
    geoip = open_geoip(settings.geoip_db) if settings.geoip_db is not None else None
    c = Collector(settings, producer, geoip)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if owned:
            await c.producer.start()
        yield
        if owned:
            await c.producer.close()

    routes = [
        Route("/p.gif", c.wrap("pixel", c.pixel), methods=["GET"]),
        Route("/t.js", c.wrap("tracker", c.tracker), methods=["GET"]),
        Route("/v1/batch", c.wrap("batch", c.batch, cors=True), methods=["POST", "OPTIONS"]),
        Route("/v1/forms/{form_id}", c.wrap("form", c.form, cors=True), methods=["POST", "OPTIONS"]),
        Route("/v1/crm", c.wrap("crm", c.crm), methods=["POST"]),
        Route("/v1/spend", c.wrap("spend", c.spend), methods=["POST"]),
        Route("/healthz", c.wrap("healthz", c.healthz), methods=["GET"]),
        Route("/metrics", c.metrics_page, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.collector = c
    for mount in mounts:
        mount(app, c, settings)
    return app
