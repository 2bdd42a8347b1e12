"""Keys, origins, token buckets, client IP behind proxies, IP privacy and the GeoIP hook."""

from __future__ import annotations

import base64

import pytest

from collector.auth import KeyRing, TokenBuckets
from collector.crm import event_from_crm, normalise_stage
from collector.edge import Edge
from collector.errors import RateLimitedError, RequestError


def ring() -> KeyRing:
    return KeyRing(["secret-1", "secret-2"], ["site-a"], ["https://a.example"])


def test_write_key_header_or_basic_user_and_label_hides_secret() -> None:
    caller = ring().authenticate({"x-write-key": "secret-2"}, None, allow_site=False)
    assert caller.source.startswith("write:") and len(caller.source) == 12 and "secret" not in caller.source
    basic = "Basic " + base64.b64encode(b"secret-1:").decode()
    assert ring().authenticate({"authorization": basic}, None, allow_site=False).is_site is False
    with pytest.raises(RequestError) as exc:
        ring().authenticate({"x-write-key": "nope"}, None, allow_site=True)
    assert exc.value.status == 401


def test_site_key_needs_allowed_origin() -> None:
    ok = ring().authenticate({"origin": "https://a.example"}, "site-a", allow_site=True)
    assert ok.source == "site:site-a" and ok.is_site
    with pytest.raises(RequestError) as exc:
        ring().authenticate({"origin": "https://b.example"}, "site-a", allow_site=True)
    assert exc.value.status == 403
    with pytest.raises(RequestError):
        ring().authenticate({"origin": "https://a.example"}, "site-a", allow_site=False)


def test_token_bucket_refills_at_rate() -> None:
    buckets = TokenBuckets(rate=2.0)
    buckets.take("k", now=0.0)
    buckets.take("k", now=0.0)
    with pytest.raises(RateLimitedError) as exc:
        buckets.take("k", now=0.0)
    assert exc.value.retry_after == 1
    buckets.take("k", now=0.6)  # 1.2 tokens refilled
    buckets.take("other", now=0.0)


def test_forwarded_for_only_from_trusted_proxies() -> None:
    edge = Edge(["10.0.0.0/8"], "truncate", b"s")
    assert edge.client_ip("10.1.2.3", "203.0.113.9, 10.0.0.7") == "203.0.113.9"
    assert edge.client_ip("198.51.100.1", "203.0.113.9") == "198.51.100.1"  # untrusted peer: header ignored


def test_ip_privacy_modes() -> None:
    assert Edge([], "truncate", b"s").private_ip("203.0.113.77") == "203.0.113.0"
    assert Edge([], "truncate", b"s").private_ip("2001:db8:1234:5678::1") == "2001:db8:1234::"
    hashed = Edge([], "hash", b"s").private_ip("203.0.113.77")
    assert (
        hashed is not None
        and hashed.startswith("h:")
        and hashed != Edge([], "hash", b"t").private_ip("203.0.113.77")
    )
    assert Edge([], "drop", b"s").private_ip("203.0.113.77") is None


def test_geoip_hook_reads_country_iso_code() -> None:
    class FakeReader:
        def get(self, ip: str) -> object:
            return {"country": {"iso_code": "DE"}} if ip == "203.0.113.77" else None

    edge = Edge([], "truncate", b"s", FakeReader())
    assert edge.country("203.0.113.77") == "DE" and edge.country("198.51.100.1") is None


def test_crm_stage_names_normalise() -> None:
    assert normalise_stage("Closed Won") == "closed_won"
    assert normalise_stage("Negotiation/Review") == "opportunity"
    assert normalise_stage("marketingqualifiedlead") == "mql"
    a = event_from_crm({"stage": "sql", "email": "a@b.co", "ts": 1767607200000})
    b = event_from_crm({"stage": "sql", "email": "a@b.co", "ts": 1767607200000})
    assert a["event_id"] == b["event_id"]
