"""Segment, RudderStack and Snowplow SDKs against ``touchstream up``, read back from ClickHouse.

One pipeline for the module (``touchstream up`` in a subprocess, every port 0, a temporary home);
one module fixture drives it with the official Python SDKs, unchanged but for the host, replays
included; each test then polls ClickHouse for one effect: types, channels, campaigns and ids of
touchpoints, identity stitching (an anonymous page view joins the account after identify +
group), unmapped ``track`` calls kept as product events, a mapped one as a form and a lead, and
replayed messageIds counted once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from clickhouse_driver import Client
from prometheus_client.parser import text_string_to_metric_families
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient
from snowplow_tracker import Emitter, Subject, Tracker

from compat.mapped import foreign_event_id
from schemas import jsonio
from sinks.client import connect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
WRITE_KEY, SITE_KEY = "wk-compat-e2e", "site-compat-e2e"
DOMAIN = "globex.com"
T = TypeVar("T")


@dataclass(frozen=True)
class Pipeline:
    proc: subprocess.Popen[bytes]
    endpoints: dict[str, str]
    log: Path

    def wait(self, what: str, probe: Callable[[], T | None], deadline_s: float = 60) -> T:
        """Poll ``probe`` until it returns something; a dead pipeline or the deadline fails the test."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"touchstream up exited while waiting for {what}: {self.tail()}")
            got = probe()
            if got is not None:
                return got
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}; logs: {self.tail()}")

    def tail(self) -> str:
        logs = Path(self.endpoints.get("home", "")) / "logs"
        parts = [self.log.read_text(errors="replace")[-800:]]
        parts += [f"{p.name}: {p.read_text(errors='replace')[-800:]}" for p in sorted(logs.glob("*.log"))]
        return "\n".join(parts)


def _healthy(base: str) -> bool | None:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200 or None
    except httpx.HTTPError:
        return None


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    tmp = tmp_path_factory.mktemp("compat-e2e")
    env = {
        **os.environ,
        "TOUCHSTREAM_HOME": str(tmp / "home"),
        "TOUCHSTREAM_EMBEDDED_KAFKA_PORT": "0",
        "TOUCHSTREAM_EMBEDDED_CLICKHOUSE_TCP_PORT": "0",
        "TOUCHSTREAM_EMBEDDED_CLICKHOUSE_HTTP_PORT": "0",
        "TOUCHSTREAM_COLLECTOR_PORT": "0",
        "TOUCHSTREAM_WRITE_KEYS": WRITE_KEY,
        "TOUCHSTREAM_SITE_KEYS": SITE_KEY,
    }
    log = tmp / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "up"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    endpoints_file = tmp / "home" / "endpoints.json"
    running = Pipeline(proc, {}, log)
    try:
        running.wait("endpoints.json", lambda: endpoints_file.exists() or None, 120)
        running = Pipeline(proc, jsonio.loads(endpoints_file.read_bytes()), log)
        # endpoints.json is written once the processes are started, not once they listen.
        running.wait("the collector's /healthz", lambda: _healthy(running.endpoints["collector"]), 60)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass(frozen=True)
class Sent:
    """What the SDKs sent: the ids each test looks for."""

    anon: str
    user: str
    paid: str  # messageId of the paid-search page view (a UUID: kept as is)
    social: str  # event id of the LinkedIn-referred page view (its messageId is not a UUID)
    demo: str
    product: str
    rudder_anon: str
    snow_duid: str


def _segment_journey(client: Any, s: Sent, social_message_id: str) -> None:
    """An anonymous visitor from paid search and LinkedIn who identifies, joins an account, asks for
    a demo and uses the product; the same calls again are an SDK retry (same messageIds)."""
    client.page(anonymous_id=s.anon, name="Pricing", message_id=s.paid, properties={
        "url": "https://acme.com/pricing?utm_medium=cpc&utm_source=google&utm_campaign=brand-q3",
        "referrer": "https://www.google.com/"})  # fmt: skip
    client.page(anonymous_id=s.anon, name="Blog", message_id=social_message_id, properties={
        "url": "https://acme.com/blog/abm", "referrer": "https://www.linkedin.com/feed/"})  # fmt: skip
    # A free-mail address: the account can only come from the group call.
    client.identify(user_id=s.user, anonymous_id=s.anon, traits={"email": f"{s.user}@gmail.com"},
                    message_id=f"identify-{s.anon}")  # fmt: skip
    client.group(user_id=s.user, group_id="g-77", traits={"website": f"https://www.{DOMAIN}/"},
                 message_id=f"group-{s.anon}")  # fmt: skip
    client.track(anonymous_id=s.anon, user_id=s.user, event="Demo Requested",
                 properties={"form_id": "demo-main"}, message_id=s.demo)  # fmt: skip
    client.track(anonymous_id=s.anon, user_id=s.user, event="Report Exported",
                 properties={"rows": 12}, message_id=s.product)  # fmt: skip
    client.flush()


@pytest.fixture(scope="module")
def sent(pipeline: Pipeline) -> Sent:
    base = pipeline.endpoints["collector"]
    tag = uuid.uuid4().hex[:8]
    social_message_id = f"ajs-social-{tag}"
    s = Sent(
        anon=f"anon-{tag}",
        user=f"user-{tag}",
        paid=str(uuid.uuid4()),
        social=foreign_event_id(social_message_id, None),
        demo=str(uuid.uuid4()),
        product=str(uuid.uuid4()),
        rudder_anon=f"rud-{tag}",
        snow_duid=f"duid-{tag}",
    )
    segment = SegmentClient(WRITE_KEY, host=base, sync_mode=True, max_retries=0)
    _segment_journey(segment, s, social_message_id)
    _segment_journey(segment, s, social_message_id)  # the retry
    rudder = RudderClient(WRITE_KEY, host=base, sync_mode=True, gzip=True, max_retries=0)
    webinar = "https://acme.com/webinar?utm_source=newsletter&utm_medium=email&utm_campaign=may-digest"
    rudder.page(anonymous_id=s.rudder_anon, name="Webinar", properties={"url": webinar})
    rudder.flush()
    port = int(base.rsplit(":", 1)[1])
    emitter = Emitter("127.0.0.1", protocol="http", port=port, method="post", batch_size=1)
    subject = Subject().set_domain_user_id(s.snow_duid)
    tracker = Tracker("sp", emitter, subject=subject, app_id=SITE_KEY, encode_base64=False)
    tracker.track_page_view("https://acme.com/?utm_source=podcast&utm_campaign=ep12", "Acme",
                            "https://podcasts.apple.com/show/1")  # fmt: skip
    tracker.flush()
    return s


@pytest.fixture(scope="module")
def ch(pipeline: Pipeline) -> Client:
    return connect(pipeline.endpoints["clickhouse_url"], database=pipeline.endpoints["clickhouse_database"])


def _touches(ch: Client, where: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return ch.execute(
        "SELECT event_id, type, channel, utm_source, utm_medium, utm_campaign, anonymous_id, form_kind "
        f"FROM touchpoints FINAL WHERE {where} ORDER BY ts, event_id",
        params,
    )


def test_page_views_keep_ids_channels_and_campaigns(pipeline: Pipeline, sent: Sent, ch: Client) -> None:
    ids = {"ids": [sent.paid, sent.social]}
    rows = pipeline.wait(
        "both Segment page views",
        lambda: got if len(got := _touches(ch, "event_id IN %(ids)s", ids)) == 2 else None,
    )
    by_id = {r[0]: r[1:] for r in rows}
    assert by_id[sent.paid] == ("page_view", "paid_search", "google", "cpc", "brand-q3", sent.anon, "")
    assert by_id[sent.social] == ("page_view", "organic_social", "", "", "", sent.anon, "")


def test_rudderstack_and_snowplow_pages_land_as_touchpoints(
    pipeline: Pipeline, sent: Sent, ch: Client
) -> None:
    ids = {"ids": [sent.rudder_anon, sent.snow_duid]}
    rows = pipeline.wait(
        "RudderStack and Snowplow page views",
        lambda: got if len(got := _touches(ch, "anonymous_id IN %(ids)s", ids)) == 2 else None,
    )
    by_anon = {r[6]: r[1:6] for r in rows}
    assert by_anon[sent.rudder_anon] == ("page_view", "email", "newsletter", "email", "may-digest")
    assert by_anon[sent.snow_duid] == ("page_view", "podcast", "podcast", "", "ep12")
    for row in rows:
        uuid.UUID(row[0])


def test_identify_and_group_stitch_the_anonymous_visitor_to_the_account(
    pipeline: Pipeline, sent: Sent, ch: Client
) -> None:
    def links() -> set[tuple[str, str, str]] | None:
        rows = ch.execute(
            "SELECT anonymous_id, person_id, account_id FROM identities FINAL WHERE person_id = %(u)s",
            {"u": sent.user},
        )
        got = {(a, p, c) for a, p, c in rows}
        return got if (sent.anon, sent.user) in {(a, p) for a, p, _ in got} and any(
            c == DOMAIN for _, _, c in got
        ) else None  # fmt: skip

    got = pipeline.wait("identity links of the user", links)
    assert {c for _, _, c in got} <= {DOMAIN, ""}

    def journey() -> list[tuple[Any, ...]] | None:
        rows = ch.execute(
            "SELECT event_id, account_id, person_id FROM account_journeys WHERE event_id IN %(ids)s",
            {"ids": [sent.paid, sent.social]},
        )
        return rows if len(rows) == 2 and all(r[1] == DOMAIN for r in rows) else None

    rows = pipeline.wait("anonymous page views resolved to the account", journey)
    assert {(r[0], r[1], r[2]) for r in rows} == {
        (sent.paid, DOMAIN, sent.user),
        (sent.social, DOMAIN, sent.user),
    }


def test_mapped_track_is_a_form_touchpoint_and_a_lead(pipeline: Pipeline, sent: Sent, ch: Client) -> None:
    ids = {"ids": [sent.demo]}
    [row] = pipeline.wait(
        "the Demo Requested touchpoint", lambda: _touches(ch, "event_id IN %(ids)s", ids) or None
    )
    assert (row[1], row[6], row[7]) == ("form_submit", sent.anon, "demo_request")

    def lead() -> list[tuple[Any, ...]] | None:
        rows = ch.execute(
            "SELECT conversion_id, stage, person_id, account_id FROM conversions FINAL "
            "WHERE conversion_id = %(id)s",
            {"id": sent.demo},
        )
        return rows or None

    [conversion] = pipeline.wait("the lead conversion", lead)
    assert conversion[:3] == (sent.demo, "lead", sent.user)


def test_unmapped_track_is_a_product_event_not_a_touchpoint(
    pipeline: Pipeline, sent: Sent, ch: Client
) -> None:
    def product() -> list[tuple[Any, ...]] | None:
        rows = ch.execute(
            "SELECT event_id, name, anonymous_id, person_id, properties FROM product_events FINAL "
            "WHERE event_id = %(id)s",
            {"id": sent.product},
        )
        return rows or None

    [row] = pipeline.wait("the Report Exported product event", product)
    assert row[1:4] == ("Report Exported", sent.anon, sent.user)
    assert jsonio.loads(row[4]) == {"rows": 12}
    _wait_all_inserted(pipeline)  # so a wrongly mapped copy would be in touchpoints by now
    assert ch.execute("SELECT count() FROM touchpoints WHERE event_id = %(id)s", {"id": sent.product}) == [
        (0,)
    ]


def _samples(url: str, name: str) -> list[Any]:
    text = httpx.get(url, timeout=5).text
    return [s for family in text_string_to_metric_families(text) for s in family.samples if s.name == name]


def _rows_inserted(pipeline: Pipeline) -> dict[str, float]:
    """The sink's count of rows ClickHouse acknowledged, per table (raw inserts, before any merge)."""
    samples = _samples(pipeline.endpoints["metrics_sink"], "touchstream_sink_rows_inserted_total")
    return {sample.labels["table"]: sample.value for sample in samples}


def _replays_caught(pipeline: Pipeline) -> float:
    """Copies the stream workers refused as replays of an accepted event id (streams.dedupe):
    dropped as a re-receipt, or dead-lettered when the SDK re-stamped them."""
    url = pipeline.endpoints["metrics_worker"]
    names = ("touchstream_stream_duplicates_dropped_total", "touchstream_stream_dead_letters_total")
    return sum(s.value for name in names for s in _samples(url, name) if s.labels.get("stage") == "enrich")


def _wait_all_inserted(pipeline: Pipeline) -> dict[str, float]:
    """Until every copy sent is accounted for, both copies of each replayed call included.

    Touchpoints: the 3 Segment touches once (their replays, with the identify and group replays,
    are the 5 copies the workers refuse), plus the RudderStack and Snowplow pages; product events
    (which skip the stream) arrive twice and the table merges them. Counters are the witness because
    the tables merge duplicates on their own.
    """
    wanted = {"touchpoints": 5.0, "product_events": 2.0}

    def probe() -> dict[str, float] | None:
        got = _rows_inserted(pipeline)
        done = all(got.get(t, 0) >= n for t, n in wanted.items()) and _replays_caught(pipeline) >= 5
        return got if done else None

    return pipeline.wait("every copy inserted or refused", probe)


def test_replayed_message_ids_count_once(pipeline: Pipeline, sent: Sent, ch: Client) -> None:
    # Only once both copies are in does "counted once" mean anything.
    _wait_all_inserted(pipeline)
    touch_ids = [sent.paid, sent.social, sent.demo]
    final = ch.execute(
        "SELECT event_id, count() FROM touchpoints FINAL WHERE event_id IN %(ids)s GROUP BY event_id",
        {"ids": touch_ids},
    )
    assert sorted(final) == sorted((i, 1) for i in touch_ids)
    reads = {
        "account_journeys": "SELECT count() FROM account_journeys WHERE event_id IN %(ids)s",
        "product_events FINAL": "SELECT count() FROM product_events FINAL WHERE event_id IN %(ids)s",
        "conversions FINAL": "SELECT count() FROM conversions FINAL WHERE conversion_id IN %(ids)s",
    }
    ids = {"ids": [*touch_ids, sent.product]}
    pipeline.wait("the lead conversion", lambda: ch.execute(reads["conversions FINAL"], ids)[0][0] or None)
    counts = {name: ch.execute(sql, ids)[0][0] for name, sql in reads.items()}
    assert counts == {"account_journeys": 3, "product_events FINAL": 1, "conversions FINAL": 1}
