"""Hostile requests on every collector route: never a 5xx but 503, every 4xx names a field or reason.

Each example starts from a valid request of one route (native batch of each event type, Segment
batch / single calls / analytics.js, Snowplow tp2 and ``GET /i``, forms as JSON and form-encoded,
CRM, spend, the pixel) and mutates it: out-of-range, negative and non-finite numbers, wrong types,
nesting past what orjson writes (254) or reads (1024), huge strings, lone surrogates, bad base64,
bad or oversized gzip, missing, extra and duplicated keys, truncated bodies, wrong content types.
Afterwards the same app must still answer ``/healthz`` and accept a valid request on every route.

Hypothesis drives a sync function in a worker thread; each request runs on the test's event loop
(``anyio.from_thread.run``), against the app from ``make_client`` producing to the real broker.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import anyio
import anyio.from_thread
import anyio.to_thread
import httpx
import pytest
from conftest import ORIGIN, SITE_KEY, WRITE_KEY, read_topic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector import EventProducer
from schemas import jsonio
from schemas.errors import InvalidEvent
from schemas.events import parse_event

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

MAX_EXAMPLES = int(os.environ.get("TOUCHSTREAM_FUZZ_EXAMPLES", "500"))
BASIC = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
W = {"X-Write-Key": WRITE_KEY}
BROWSER = {"Origin": ORIGIN, "Referer": ORIGIN + "/pricing"}
BOMB = gzip.compress(b"[" + b" " * 2_000_000 + b"]")  # 2 KB that inflate past the 500 KB body limit


# -- a JSON writer for what json/orjson refuse to write: deep nesting, duplicate keys, NaN ---------
@dataclass(frozen=True)
class Deep:
    """``leaf`` inside ``depth`` levels of objects or arrays, written as text (no recursion)."""

    depth: int
    array: bool
    leaf: Any = 1


DUP = "__dup__"  # {DUP: Dup(...)} in a tree: that object, written with its keys repeated


@dataclass(frozen=True)
class Dup:
    """An object whose keys repeat (JSON allows it; the last one wins in orjson)."""

    pairs: tuple[tuple[str, Any], ...]


def encode(value: Any) -> str:
    """JSON text of ``value``; :class:`Deep` and :class:`Dup` written as they say."""
    if isinstance(value, Deep):
        opening, closing = ("[", "]") if value.array else ('{"a":', "}")
        return opening * value.depth + encode(value.leaf) + closing * value.depth
    if isinstance(value, Dup):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(DUP), Dup):
            return encode(value[DUP])
        return "{" + ",".join(f"{json.dumps(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value)  # ints of any size; lone surrogates as \ud800 escapes


def b64(text: str, *, padded: bool = False) -> str:
    raw = base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode()
    return raw if padded else raw.rstrip("=")


def q(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


# -- valid starting points, one per event kind and route ---------------------------------------------
def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def uid() -> str:
    return str(uuid.uuid4())


def native_events() -> list[dict[str, Any]]:
    base = {"ts": now_ms(), "anonymous_id": "anon-fz"}
    ctx = {"url": "https://shop.example/pricing?utm_source=g", "referrer": "https://google.com/"}
    return [
        {**base, "event_id": uid(), "type": "page_view", "context": ctx, "utm": {"source": "g"},
         "click_ids": {"gclid": "g1"}, "properties": {"plan": "pro", "seats": 3, "tags": ["a"]}},
        {**base, "event_id": uid(), "type": "engagement", "channel": "podcast", "kind": "podcast",
         "duration_s": 12.5},
        {**base, "event_id": uid(), "type": "mention", "brand": "acme", "reach": 10},
        {**base, "event_id": uid(), "type": "identify", "email": "jo@acme.com", "traits": {"name": "Jo"}},
        {**base, "event_id": uid(), "type": "form_submit", "form_id": "demo", "form_kind": "demo_request",
         "account_domain": "acme.com"},
        {"event_id": uid(), "type": "crm_stage", "ts": now_iso(), "stage": "opportunity",
         "account_domain": "acme.com", "amount": 1200.0, "currency": "USD", "opportunity_id": "o-1"},
        {"event_id": uid(), "type": "spend", "ts": now_ms(), "date": "2026-11-30", "channel": "paid_search",
         "campaign": "brand", "cost": 12.5, "currency": "EUR"},
    ]  # fmt: skip


def segment_messages() -> list[dict[str, Any]]:
    ctx = {
        "page": {"url": "https://shop.example/p?utm_campaign=q4", "referrer": "https://x.io/"},
        "userAgent": "Mozilla/5.0",
        "ip": "203.0.113.9",
        "traits": {"email": "jo@acme.com"},
    }
    common = {"anonymousId": "anon-fz", "timestamp": now_iso(), "sentAt": now_iso(), "context": ctx}
    return [
        {**common, "type": "track", "messageId": uid(), "event": "Demo Requested",
         "properties": {"form_id": "demo", "plan": "pro"}},
        {**common, "type": "track", "messageId": uid(), "event": "Clicked Thing", "properties": {"n": 1}},
        {**common, "type": "page", "messageId": uid(), "name": "Pricing", "properties": {"path": "/p"}},
        {**common, "type": "screen", "messageId": uid(), "name": "Home"},
        {**common, "type": "identify", "messageId": uid(), "userId": "u-1",
         "traits": {"email": "jo@acme.com", "website": "acme.com"}},
        {**common, "type": "group", "messageId": uid(), "userId": "u-1", "groupId": "acme.com",
         "traits": {"website": "https://acme.com"}},
        {**common, "type": "alias", "messageId": uid(), "userId": "u-1", "previousId": "anon-fz"},
    ]  # fmt: skip


def snowplow_payloads() -> list[dict[str, Any]]:
    cx = b64(encode({"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
                     "data": [{"schema": "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0",
                               "data": {"id": uid()}}]}))  # fmt: skip
    ue = {
        "schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
        "data": {"schema": "iglu:com.acme/demo_requested/jsonschema/1-0-0", "data": {"form_id": "d"}},
    }
    common = {
        "aid": SITE_KEY,
        "duid": "anon-fz",
        "dtm": str(now_ms()),
        "stm": str(now_ms()),
        "p": "web",
        "url": "https://shop.example/p?utm_source=sp",
        "refr": "https://google.com/",
        "cx": cx,
    }
    return [
        {**common, "e": "pv", "eid": uid(), "page": "Pricing"},
        {**common, "e": "pp", "eid": uid(), "pp_mix": "0", "pp_max": "10"},
        {**common, "e": "se", "eid": uid(), "se_ca": "video", "se_ac": "Video Played", "se_va": "3"},
        {**common, "e": "ue", "eid": uid(), "ue_px": b64(encode(ue))},
        {**common, "e": "ue", "eid": uid(), "ue_pr": encode(ue), "uid": "u-1"},
    ]  # fmt: skip


def form_fields() -> dict[str, Any]:
    return {"email": "jo@acme.com", "website": "https://www.acme.com", "form_kind": "demo_request",
            "submission_id": uid(), "utm_campaign": "q4", "job_title": "CTO", "ts": now_ms()}  # fmt: skip


def crm_objects() -> list[dict[str, Any]]:
    return [
        {"stage": "mql", "email": "jo@acme.com", "account_domain": "acme.com", "ts": now_iso()},
        {"propertyName": "dealstage", "propertyValue": "contractsent", "objectId": 42,
         "occurredAt": now_ms(), "properties": {"amount": "1,200.50", "company_domain": "acme.com"}},
        {"StageName": "Closed Won", "Id": "006x", "Amount": 900, "CurrencyIsoCode": "USD",
         "LastModifiedDate": now_iso(), "Account": {"Website": "https://acme.com"}},
    ]  # fmt: skip


def spend_rows() -> list[dict[str, Any]]:
    return [
        {"date": "2026-11-30", "channel": "paid_social", "campaign": "c1", "cost": 3.5, "currency": "USD"}
    ]


def pixel_params() -> list[tuple[str, str]]:
    return [("k", SITE_KEY), ("e", "page_view"), ("eid", uid()), ("ts", str(now_ms())), ("aid", "anon-fz"),
            ("url", "https://shop.example/p?utm_source=px&gclid=g"), ("ref", "https://google.com/"),
            ("title", "Pricing"), ("p.plan", "pro")]  # fmt: skip


# -- hostile values ------------------------------------------------------------------------------------
DEPTHS = [8, 200, 253, 254, 255, 256, 300, 990, 999, 1000, 1023, 1024, 1030]
HOSTILE_SCALARS: list[Any] = [
    1e308, -1e308, -1e20, 1e20, 1e15, -1, 0, 0.5, 2**63, 2**64, -(2**63) - 1, 10**30, 10**400,
    float("nan"), float("inf"), True, False, None, "", " ", "NaN", "Infinity", "1e308", "-1e20",
    "9" * 40, "9" * 5000, "99999999999999999", "²³", "١٢٣", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "2026-13-45T99:99:99Z", "\ud800", "a\udfff\ud800b", "a\x00b",
    "😀" * 50, "x" * 5000, "x" * 40_000, "not-a-uuid", "a@", "UPPER.COM", "<script>", "%ED%A0%80",
]  # fmt: skip
leaves = st.one_of(
    st.sampled_from(HOSTILE_SCALARS),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.just([]),
    st.just({}),
)
hostile = st.one_of(
    leaves,
    st.builds(Deep, st.sampled_from(DEPTHS), st.booleans(), leaves),
    st.lists(leaves, max_size=3),
    st.dictionaries(st.text(max_size=8), leaves, max_size=3),
)
odd_keys = st.one_of(
    st.sampled_from(["zz", "properties", "ts", "type", "event_id", "$", "__proto__", "\ud800", "a" * 300]),
    st.text(max_size=10),
)


@st.composite
def mutated(draw: st.DrawFn, tree: Any) -> Any:
    """``tree`` with one to four mutations at random places (replace, drop, add, duplicate, nest)."""
    for _ in range(draw(st.integers(1, 4))):
        spots: list[tuple[Any, Any]] = []
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                spots += [(node, k) for k in node]
                stack += [v for v in node.values() if isinstance(v, dict | list)]
            elif isinstance(node, list):
                spots += [(node, i) for i in range(len(node))]
                stack += [v for v in node if isinstance(v, dict | list)]
        if not spots:
            return draw(hostile)
        parent, key = draw(st.sampled_from(spots))
        op = draw(st.sampled_from(["replace", "replace", "drop", "add", "duplicate", "nest"]))
        if op == "replace":
            parent[key] = draw(hostile)
        elif op == "drop":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(odd_keys)] = draw(hostile)
        elif op == "add":
            parent.append(draw(hostile))
        elif op == "duplicate" and isinstance(parent, dict):  # the key again, with a hostile value
            pairs = (*parent.items(), (key, draw(hostile)))
            parent.clear()
            parent[DUP] = Dup(pairs)
        elif op == "nest":
            parent[key] = Deep(draw(st.sampled_from(DEPTHS)), draw(st.booleans()), parent[key])
    return tree


# -- requests --------------------------------------------------------------------------------------------
class Req:
    """One request; not a dataclass, so hypothesis prints the short ``repr`` below, not every field."""

    def __init__(
        self,
        route: str,
        method: str,
        url: str,
        headers: dict[str, str | bytes] | None = None,
        body: bytes | None = None,
    ) -> None:
        self.route, self.method, self.url, self.body = route, method, url, body
        self.headers: dict[str, str | bytes] = headers or {}

    def __repr__(self) -> str:  # short: hypothesis prints it (the print_blob line replays it exactly)
        body = None if self.body is None else f"{self.body[:400]!r}... ({len(self.body)} bytes)"
        return f"Req({self.route} {self.method} {self.url[:300]!r} headers={self.headers!r} body={body})"


@st.composite
def body_variant(draw: st.DrawFn, text: str, content_type: str) -> tuple[bytes, dict[str, str]]:
    """The JSON text as sent: plain, gzip, broken gzip, a gzip bomb, truncated, or mislabelled."""
    raw = text.encode("utf-8", "surrogatepass")
    headers = {"Content-Type": content_type}
    kind = draw(st.sampled_from(["plain"] * 6 + ["gzip", "gzip", "bad_gzip", "bomb", "truncated", "type"]))
    if kind == "gzip":
        return gzip.compress(raw), {**headers, "Content-Encoding": "gzip"}
    if kind == "bad_gzip":
        junk = b"\x1f\x8b" + draw(st.binary(max_size=30))
        broken = draw(st.sampled_from([junk, gzip.compress(raw)[:-9], raw]))
        return broken, {**headers, "Content-Encoding": "gzip"}
    if kind == "bomb":
        return BOMB, {**headers, "Content-Encoding": "gzip"}
    if kind == "truncated" and raw:
        return raw[: draw(st.integers(0, len(raw) - 1))], headers
    if kind == "type":
        return raw, {"Content-Type": draw(st.sampled_from(["application/xml", "", "multipart/form-data"]))}
    return raw, headers


def query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{q(k)}={q(v)}" for k, v in pairs)


@st.composite
def mutated_query(draw: st.DrawFn, pairs: list[tuple[str, str]]) -> str:
    """Query pairs mutated: values replaced, dropped, repeated, or raw bytes that are not UTF-8."""
    pairs = list(pairs)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["replace", "replace", "drop", "repeat", "add"]))
        i = draw(st.integers(0, len(pairs) - 1)) if pairs else 0
        value = draw(st.text(max_size=30) | st.sampled_from([str(v) for v in HOSTILE_SCALARS]))
        if op == "replace" and pairs:
            pairs[i] = (pairs[i][0], value)
        elif op == "drop" and pairs:
            pairs.pop(i)
        elif op == "repeat" and pairs:
            pairs.append((pairs[i][0], value))
        else:
            pairs.append((draw(odd_keys), value))
    text = query(pairs)
    if draw(st.booleans()):
        text += draw(st.sampled_from(["&url=%ED%A0%80", "&p.x=%FF%FE", "&%zz=%", "&aid=" + "a" * 3000]))
    return text[:60_000]  # httpx refuses URLs over 64 KB (servers cap the request line too)


def snowplow_field_junk() -> st.SearchStrategy[tuple[str, str]]:
    """Bad base64 and JSON for ue_px / cx / ue_pr / co."""
    too_deep = {"schema": "iglu:a/b/jsonschema/1-0-0", "data": Deep(260, False)}
    mapped = {"schema": "iglu:a/demo_requested/jsonschema/1-0-0", "data": {"x": Deep(300, True)}}
    junk = st.sampled_from(
        ["@@@", "e30", "e30=", "e3", "////", b64("not json"), b64("[1,2]"), b64(encode(Deep(300, False))),
         b64(encode(Deep(1000, False))), b64(encode({"data": too_deep})), b64(encode({"data": mapped})),
         base64.b64encode(b"\xff\xfe\xfd").decode(), b64('{"data": {"schema": 5}}', padded=True), "\ud800",
         encode({"data": too_deep}), encode(Deep(1030, True))]
    )  # fmt: skip
    return st.tuples(st.sampled_from(["ue_px", "cx", "ue_pr", "co"]), junk)


HEADER_JUNK: list[dict[str, str | bytes]] = [
    {"Referer": "http://[::1"},  # no Origin: the origin comes from a Referer urlsplit cannot parse
    {"Referer": b"http://\xe9\xff/x"},
    {"Referer": "not a url"},
    {"Origin": "null"},
    {"Cookie": b"ts_aid=\xe9\xff; other=1"},
    {"Cookie": "ts_aid=" + "a" * 9000},
    {"Cookie": 'ts_aid="unterminated'},
    {"User-Agent": b"\xe9" * 3000},
    {"X-Forwarded-For": b"junk, 999.1.1.1, \xff"},
    {"Authorization": "Basic !!!"},
    {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:").decode()},
    {"X-Write-Key": ""},
    {"Content-Encoding": "br"},
    {"Content-Type": "application/json; charset=latin-1"},
]


@st.composite
def requests(draw: st.DrawFn) -> Req:
    """A request of a random route, its body and query mutated; sometimes hostile headers too."""
    req = draw(route_requests())
    if draw(st.integers(0, 2)) == 0:
        junk = draw(st.sampled_from(HEADER_JUNK))
        if "Referer" in junk:
            req.headers.pop("Origin", None)
        req.headers.update(junk)
    return req


@st.composite
def route_requests(draw: st.DrawFn) -> Req:
    route = draw(st.sampled_from([
        "native", "segment_batch", "segment_call", "segment_b", "snowplow_post", "snowplow_get",
        "form_json", "form_urlencoded", "crm", "spend", "pixel",
    ]))  # fmt: skip
    if route == "native":
        events = draw(st.lists(st.sampled_from(native_events()), min_size=1, max_size=4))
        tree: Any = [dict(e) for e in events]
        text = encode(draw(mutated(tree)))
        body, headers = draw(body_variant(text, "application/json"))
        return Req(route, "POST", "/v1/batch", {**W, **headers}, body)
    if route in ("segment_batch", "segment_b"):
        messages = draw(st.lists(st.sampled_from(segment_messages()), min_size=1, max_size=4))
        tree = {
            "batch": [dict(m) for m in messages],
            "sentAt": now_iso(),
            "context": {"library": {"name": "fz"}},
        }
        auth = {"Authorization": BASIC}
        if route == "segment_b":
            tree["writeKey"], auth = WRITE_KEY, {}
        text = encode(draw(mutated(tree)))
        body, headers = draw(body_variant(text, "text/plain" if route == "segment_b" else "application/json"))
        return Req(
            route, "POST", "/v1/batch" if route == "segment_batch" else "/v1/b", {**auth, **headers}, body
        )
    if route == "segment_call":
        message = dict(draw(st.sampled_from(segment_messages())))
        call = str(message.pop("type"))
        path = draw(st.sampled_from([call, call[0], "bogus"]))
        text = encode(draw(mutated(message)))
        body, headers = draw(body_variant(text, "application/json"))
        return Req(route, "POST", f"/v1/{path}", {"Authorization": BASIC, **headers}, body)
    if route == "snowplow_post":
        payloads = [
            dict(p) for p in draw(st.lists(st.sampled_from(snowplow_payloads()), min_size=1, max_size=3))
        ]
        if draw(st.booleans()):
            name, junk = draw(snowplow_field_junk())
            payloads[0][name] = junk
        tree = {
            "schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
            "data": payloads,
        }
        text = encode(draw(mutated(tree)))
        body, headers = draw(body_variant(text, "application/json"))
        return Req(route, "POST", "/com.snowplowanalytics.snowplow/tp2", {**BROWSER, **headers}, body)
    if route == "snowplow_get":
        pairs = list(draw(st.sampled_from(snowplow_payloads())).items())
        if draw(st.booleans()):
            pairs.append(draw(snowplow_field_junk()))
        return Req(route, "GET", "/i?" + draw(mutated_query(pairs)), dict(BROWSER))
    if route == "form_json":
        text = encode(draw(mutated(form_fields())))
        body, headers = draw(body_variant(text, "application/json"))
        return Req(route, "POST", "/v1/forms/" + draw(st.sampled_from(["demo", "x" * 300, "%F0%9F%98%80"])),
                   {**W, **headers}, body)  # fmt: skip
    if route == "form_urlencoded":
        pairs = [(k, str(v)) for k, v in form_fields().items()]
        body = draw(mutated_query(pairs)).encode()
        return Req(
            route, "POST", "/v1/forms/demo", {**W, "Content-Type": "application/x-www-form-urlencoded"}, body
        )
    if route in ("crm", "spend"):
        objs: Any = crm_objects() if route == "crm" else spend_rows()
        tree = draw(st.sampled_from([objs, objs[0]]))
        text = encode(draw(mutated(tree)))
        body, headers = draw(body_variant(text, "application/json"))
        return Req(route, "POST", f"/v1/{route}", {**W, **headers}, body)
    return Req(route, "GET", "/p.gif?" + draw(mutated_query(pixel_params())), dict(BROWSER))


# -- what every answer must satisfy ------------------------------------------------------------------
def _named(errors: Any) -> bool:
    return (
        isinstance(errors, list)
        and bool(errors)
        and all(isinstance(e, dict) and isinstance(e.get("field"), str) and e.get("reason") for e in errors)
    )


def check(req: Req, r: httpx.Response) -> None:
    where = f"{req.route} {req.method} {req.url[:120]} -> {r.status_code} {r.text[:300]}"
    assert r.status_code < 500 or r.status_code == 503, where
    if r.status_code == 503:
        assert r.headers.get("retry-after"), where
    content_type = r.headers.get("content-type", "")
    if r.status_code >= 400:
        assert content_type.startswith("application/json"), where
        body = r.json()
        assert isinstance(body, dict), where
        errors, rejected = body.get("errors"), body.get("rejected")
        if errors:  # every listed error names a field and a reason
            assert _named(errors), where
        if rejected:
            assert all(isinstance(e, dict) and _named(e.get("errors")) for e in rejected), where
        reason = body.get("error")
        assert (isinstance(reason, str) and reason) or errors or rejected, where
    elif content_type.startswith("application/json"):
        body = r.json()
        for rejected in body.get("rejected", []):
            assert isinstance(rejected.get("index"), int) and _named(rejected.get("errors")), where


# -- the test ----------------------------------------------------------------------------------------
def valid_requests() -> list[Req]:
    json_, form = {"Content-Type": "application/json"}, {"Content-Type": "application/x-www-form-urlencoded"}
    seg = {"Authorization": BASIC, **json_}
    return [
        Req("native", "POST", "/v1/batch", {**W, **json_}, encode(native_events()).encode()),
        Req("segment_batch", "POST", "/v1/batch", {**seg, "Content-Encoding": "gzip"},
            gzip.compress(encode({"batch": segment_messages()}).encode())),
        Req("segment_call", "POST", "/v1/t", seg, encode(segment_messages()[0]).encode()),
        Req("segment_b", "POST", "/v1/b", {"Content-Type": "text/plain"},
            encode({"writeKey": WRITE_KEY, "batch": segment_messages()[2:4]}).encode()),
        Req("snowplow_post", "POST", "/com.snowplowanalytics.snowplow/tp2", {**BROWSER, **json_},
            encode({"data": snowplow_payloads()}).encode()),
        Req("snowplow_get", "GET", "/i?" + query(list(snowplow_payloads()[0].items())), dict(BROWSER)),
        Req("form_json", "POST", "/v1/forms/demo", {**W, **json_}, encode(form_fields()).encode()),
        Req("form_urlencoded", "POST", "/v1/forms/demo", {**W, **form},
            query([(k, str(v)) for k, v in form_fields().items()]).encode()),
        Req("crm", "POST", "/v1/crm", {**W, **json_}, encode(crm_objects()).encode()),
        Req("spend", "POST", "/v1/spend", {**W, **json_}, encode(spend_rows()).encode()),
        Req("pixel", "GET", "/p.gif?" + query(pixel_params()), dict(BROWSER)),
    ]  # fmt: skip


async def test_hostile_requests_on_every_route_never_get_a_5xx_and_the_collector_stays_up(
    make_client, kafka_bootstrap, topic_factory
) -> None:
    client, topic, app = await make_client()
    products = app.state.compat.products = EventProducer(kafka_bootstrap, topic_factory(prefix="products"))
    statuses: Counter[tuple[str, int]] = Counter()

    async def send(req: Req) -> httpx.Response:
        return await client.request(req.method, req.url, headers=req.headers, content=req.body)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(req=requests())
    def fuzz(req: Req) -> None:
        r = anyio.from_thread.run(send, req)
        statuses[(req.route, r.status_code)] += 1
        check(req, r)

    try:
        await anyio.to_thread.run_sync(fuzz)
        print("\nfuzz answers by route and status:", dict(sorted(statuses.items())))
        assert not [k for k in statuses if k[1] >= 500 and k[1] != 503]

        health = await client.get("/healthz")
        assert health.status_code == 200, health.text
        valid = valid_requests()
        for req in valid:  # the same app still takes a valid request on every route
            r = await send(req)
            assert r.status_code == 200, f"{req.route}: {r.status_code} {r.text[:300]}"
            if r.headers.get("content-type", "").startswith("application/json"):
                assert not r.json().get("rejected"), f"{req.route}: {r.text[:300]}"
        sent = {e["event_id"] for e in json.loads(valid[0].body or b"[]")}
        # everything on the topic (no count to wait for: fuzzed requests were accepted too)
        records = [value for _, value in read_topic(kafka_bootstrap, topic, 10**9, timeout_s=3)]
        assert sent <= {v.get("event_id") for v in records}
        unreadable = []
        for value in records:  # what was accepted must parse again where the stream reads it
            try:
                parse_event(jsonio.dumps(value))
            except InvalidEvent as exc:
                unreadable.append((value.get("type"), exc.as_dicts()))
        assert not unreadable, unreadable[:3]
    finally:
        await products.close()
