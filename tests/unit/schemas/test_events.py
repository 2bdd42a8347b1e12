"""The event contract: round trips, UTC normalisation, limits, and garbage never passing silently."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import jsonio
from schemas.channels import CATEGORY_OF, Category, Channel, category_of
from schemas.errors import InvalidEvent, JSONShapeError
from schemas.events import MAX_EVENT_BYTES, MAX_JSON_DEPTH, dump_event, from_epoch_ms, parse_event

NOW = dt.datetime.now(dt.UTC)

idents = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=40)
timestamps = st.datetimes(
    min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2026, 1, 1), timezones=st.just(dt.UTC)
)
utm = st.fixed_dictionaries(
    {}, optional={k: idents for k in ("source", "medium", "campaign", "content", "term")}
)
props = st.dictionaries(idents, st.one_of(st.integers(-(10**9), 10**9), idents, st.booleans()), max_size=5)


def base(ts: dt.datetime, **extra: object) -> dict[str, object]:
    return {"event_id": str(uuid.uuid4()), "ts": ts.isoformat(), "anonymous_id": "anon-1", **extra}


events = st.one_of(
    st.builds(
        lambda ts, u, p: base(
            ts, type="page_view", utm=u, properties=p, context={"url": "https://example.com/pricing"}
        ),
        timestamps,
        utm,
        props,
    ),
    st.builds(
        lambda ts, ch, k: base(ts, type="engagement", channel=ch, kind=k),
        timestamps,
        st.sampled_from(list(Channel)),
        st.sampled_from(["social", "podcast", "video", "webinar", "event"]),
    ),
    st.builds(lambda ts, b: base(ts, type="mention", brand=b), timestamps, idents),
    st.builds(
        lambda ts, p: base(ts, type="identify", person_id=p, email=f"{p}@acme.com"), timestamps, idents
    ),
    st.builds(
        lambda ts, f: base(ts, type="form_submit", form_id=f, form_kind="demo_request"), timestamps, idents
    ),
    st.builds(
        lambda ts, s, a: base(
            ts, type="crm_stage", stage=s, amount=a, currency="EUR", account_domain="acme.com"
        ),
        timestamps,
        st.sampled_from(["lead", "mql", "sql", "opportunity", "closed_won", "closed_lost"]),
        st.floats(0, 1e9, allow_nan=False),
    ),
    st.builds(
        lambda ts, c: base(ts, type="spend", date="2025-05-01", channel="paid_search", cost=c),
        timestamps,
        st.floats(0, 1e6, allow_nan=False),
    ),
)


@given(events)
@settings(max_examples=300)
def test_every_valid_event_round_trips(raw: dict[str, object]) -> None:
    event = parse_event(jsonio.dumps(raw))
    assert event.type == raw["type"]
    assert event.ts.tzinfo is dt.UTC
    again = parse_event(dump_event(event))
    assert again == event


@given(st.binary(max_size=200))
def test_random_bytes_never_pass(blob: bytes) -> None:
    with pytest.raises(InvalidEvent) as info:
        parse_event(blob)
    assert info.value.errors, "a rejection must say why"


@given(events, st.sampled_from(["event_id", "ts", "type"]))
def test_dropping_a_required_field_is_reported_by_name(raw: dict[str, object], field: str) -> None:
    raw = dict(raw)
    del raw[field]
    with pytest.raises(InvalidEvent) as info:
        parse_event(raw)
    fields = {e.field for e in info.value.errors}
    assert field in fields or (field == "type" and "$" in fields)


@given(events, st.one_of(st.text(max_size=20), st.lists(st.integers(), max_size=3), st.just({"x": 1})))
def test_garbage_in_a_typed_field_is_rejected(raw: dict[str, object], junk: object) -> None:
    raw = dict(raw, ts=junk)
    with pytest.raises(InvalidEvent) as info:
        parse_event(raw)
    assert any(e.field.startswith("ts") for e in info.value.errors)


def test_epoch_millis_and_offsets_normalise_to_utc() -> None:
    millis = parse_event(base(NOW, type="page_view") | {"ts": 1_700_000_000_123})
    assert millis.ts == dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=dt.UTC)
    offset = parse_event(base(NOW, type="page_view") | {"ts": "2024-03-01T10:00:00+02:00"})
    assert offset.ts == dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
    naive = parse_event(base(NOW, type="page_view") | {"ts": "2024-03-01T10:00:00"})
    assert naive.ts == dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("patch", "field", "reason"),
    [
        ({"ts": (NOW + dt.timedelta(days=3)).isoformat()}, "ts", "future"),
        ({"ts": "1999-12-31T00:00:00Z"}, "ts", "2000"),
        ({"event_id": "not-a-uuid"}, "event_id", "UUID"),
        ({"type": "purchase"}, "$", "tag"),
        ({"email": "nobody"}, "email", "email"),
        ({"account_domain": "not a domain"}, "account_domain", "pattern"),
        ({"properties": {f"k{i}": i for i in range(101)}}, "properties", "at most 100"),
        ({"properties": {"blob": "x" * 20_000}}, "properties", "bytes"),
        ({"unexpected": 1}, "unexpected", "Extra"),
        ({"anonymous_id": None}, "$", "one of anonymous_id"),
    ],
)
def test_bad_fields_are_named_with_a_reason(patch: dict[str, object], field: str, reason: str) -> None:
    raw = base(NOW, type="page_view") | patch
    with pytest.raises(InvalidEvent) as info:
        parse_event(raw)
    matching = [e for e in info.value.errors if e.field == field]
    assert matching, info.value.errors
    assert reason.lower() in matching[0].reason.lower()


def test_type_specific_requirements() -> None:
    with pytest.raises(InvalidEvent, match="identify needs person_id or email"):
        parse_event(base(NOW, type="identify"))
    with pytest.raises(InvalidEvent, match="crm_stage needs"):
        parse_event(
            {"event_id": str(uuid.uuid4()), "ts": NOW.isoformat(), "type": "crm_stage", "stage": "sql"}
        )
    with pytest.raises(InvalidEvent, match="currency"):
        parse_event(base(NOW, type="crm_stage", stage="closed_won", account_domain="a.com", currency="usd"))
    spend = parse_event(
        {
            "event_id": str(uuid.uuid4()),
            "ts": NOW.isoformat(),
            "type": "spend",
            "date": "2025-01-02",
            "channel": "paid_social",
            "cost": 10,
        }
    )
    assert spend.type == "spend"  # spend rows need no person


def test_errors_never_echo_the_input() -> None:
    secret = "<script>alert(1)</script>"
    with pytest.raises(InvalidEvent) as info:
        parse_event(base(NOW, type="page_view") | {"ts": secret, "email": secret})
    assert secret not in str(info.value)
    assert all(secret not in e.reason for e in info.value.errors)


def test_oversized_payload_is_rejected_before_parsing() -> None:
    with pytest.raises(InvalidEvent, match="exceeds"):
        parse_event(b"{" + b" " * MAX_EVENT_BYTES + b"}")


def test_normalisation_of_identifiers() -> None:
    event = parse_event(base(NOW, type="page_view", email=" Ann@Acme.COM ", account_domain="WWW.Acme.com"))
    assert event.email == "ann@acme.com"
    assert event.account_domain == "acme.com"
    assert event.partition_key() == "anon-1"


def test_every_channel_has_a_category() -> None:
    assert set(CATEGORY_OF) == set(Channel)
    assert category_of("podcast") is Category.DEMAND_GEN
    assert category_of("paid_search") is Category.LEAD_GEN
    assert category_of("direct") is Category.DIRECT
    assert category_of("carrier-pigeon") is category_of("other")


def _nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "ts",
    [1e308, -1e308, -1e20, 1e20, 10**30, float("nan"), float("inf"), "9" * 40, "9" * 5000,
     "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "²³"],
)  # fmt: skip
def test_out_of_range_times_are_the_ts_field_error_never_a_crash(ts: object) -> None:
    with pytest.raises(InvalidEvent) as info:
        parse_event(base(NOW, type="page_view") | {"ts": ts})
    assert [e.field for e in info.value.errors] == ["ts"]
    assert "²" not in info.value.errors[0].reason  # the value is not echoed back


def test_from_epoch_ms_raises_value_error_only() -> None:
    assert from_epoch_ms("1700000000123") == from_epoch_ms(1_700_000_000_123)
    for bad in (1e308, -1e20, float("nan"), 10**400, "9" * 5000):
        with pytest.raises(ValueError, match="out of range"):
            from_epoch_ms(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["properties", "traits"])
def test_free_form_json_nested_too_deep_is_that_fields_error(field: str) -> None:
    raw = base(NOW, type="identify", email="a@b.co")
    event = parse_event(raw | {field: _nested(MAX_JSON_DEPTH)})  # the deepest allowed
    assert parse_event(dump_event(event)) == event  # ... reads back from Kafka bytes
    for depth in (MAX_JSON_DEPTH + 1, jsonio.MAX_DEPTH + 1, 1000):
        with pytest.raises(InvalidEvent) as info:
            parse_event(raw | {field: _nested(depth)})
        limit = MAX_JSON_DEPTH if depth <= jsonio.MAX_DEPTH else jsonio.MAX_DEPTH
        assert [(e.field, e.reason) for e in info.value.errors] == [
            (field, f"Value error, nested deeper than {limit} levels")
        ]
    wide = {f"k{i}": {"x": [1]} for i in range(90)}  # many brackets, shallow: allowed
    assert parse_event(raw | {field: wide})


def test_integers_beyond_64_bits_from_kafka_json_are_rejected_not_raised() -> None:
    raw = base(NOW, type="page_view") | {"properties": {"n": 2**70}}
    with pytest.raises(InvalidEvent) as info:
        parse_event(jsonio.dumps(raw | {"properties": {}}).replace(b"{}", b'{"n": %d}' % 2**70))
    assert info.value.errors[0].field == "properties" and "64-bit" in info.value.errors[0].reason
    with pytest.raises(InvalidEvent):
        parse_event(raw)


def test_dumps_checked_names_the_top_level_key_and_never_odd_ones() -> None:
    with pytest.raises(JSONShapeError) as info:
        jsonio.dumps_checked({"ok": 1, "properties": _nested(300)})
    assert (info.value.field, info.value.reason) == ("properties", "nested deeper than 254 levels")
    with pytest.raises(JSONShapeError) as info:
        jsonio.dumps_checked({"<script>": _nested(300)})
    assert info.value.field == "$"
    with pytest.raises(JSONShapeError) as info:
        jsonio.dumps_checked({"ok": [[1]], "deep": [_nested(5)]}, max_depth=5)
    assert (info.value.field, info.value.reason) == ("deep", "nested deeper than 5 levels")
    assert jsonio.dumps_checked({"a": _nested(4)}, max_depth=5)
    with pytest.raises(JSONShapeError, match="deeper than 5") as info:
        jsonio.dumps_checked([[[[[[1]]]]], "padding" * 3], max_depth=5)
    assert info.value.field == "$"
    assert jsonio.dumps_checked({"a": [1, "x"]}) == jsonio.dumps({"a": [1, "x"]})
