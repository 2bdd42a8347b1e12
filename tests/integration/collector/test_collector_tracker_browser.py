"""The JS tracker in real headless Chromium: landing with UTMs, SPA navigation, identify, form capture.

Debian's chromium is required (``make system-deps``); without it the launch fails the test, it never
skips. The page and the collector share one uvicorn server on a free port; events are read back
from Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime

import pytest
from conftest import SITE_KEY, collector_settings, read_topic
from playwright.sync_api import sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from collector import EventProducer, create_app
from embedded.process import free_port
from tests.integration.served import serve

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--no-first-run"]  # fmt: skip

PAGE = f"""<!doctype html><html><head><title>Landing</title></head><body>
<form id="f" data-touchstream-form="demo-request" data-touchstream-form-kind="demo_request"
      onsubmit="event.preventDefault()">
  <input type="email" name="email"><input name="company"><input type="password" name="password">
  <button id="go" type="submit">Request a demo</button>
</form>
<form id="plain" onsubmit="event.preventDefault()"><input name="q"><button id="search">s</button></form>
<script>window.touchstreamConfig = {{flushMs: 100}};</script>
<script async src="/t.js" data-key="{SITE_KEY}"></script>
</body></html>"""


async def landing(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


@pytest.fixture
def served(kafka_bootstrap: str, topic_factory) -> Iterator[tuple[str, str]]:
    """(base URL, topic): page routes and the collector on one uvicorn server in a thread."""
    topic = topic_factory(partitions=4, prefix="tracker")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    producer = EventProducer(kafka_bootstrap, topic)
    collector = create_app(collector_settings(kafka_bootstrap, allowed_origins=[base]), producer)
    app = Starlette(routes=[Route("/landing", landing), Route("/pricing", landing), Mount("/", collector)])
    try:
        with serve(app, port=port):
            yield base, topic
    finally:
        asyncio.run(producer.close())


def test_tracker_page_views_spa_identify_and_form_capture(
    served: tuple[str, str], kafka_bootstrap: str
) -> None:
    base, topic = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(
                f"{base}/landing?utm_source=linkedin&utm_medium=paid_social&utm_campaign=abm&li_fat_id=L1"
            )
            page.wait_for_function("window.touchstream && window.touchstream.loaded === true")
            aid = page.evaluate("touchstream.anonymousId()")
            page.evaluate("history.pushState({}, '', '/pricing')")
            page.evaluate("touchstream.identify({person_id: 'p-42', traits: {plan: 'pro'}})")
            page.fill("input[name=email]", "Ana@Acme.com")
            page.fill("input[name=company]", "Acme")
            page.fill("input[name=password]", "hunter2")
            page.click("#go")  # captured form: flushes at once
            page.fill("input[name=q]", "not captured")
            page.click("#search")  # no data-touchstream-form: ignored
            page.evaluate("history.pushState({}, '', '/docs')")
            page.wait_for_timeout(50)
            page.goto("about:blank")  # pagehide: the last page view leaves by sendBeacon
            cookie_aid = aid
        finally:
            browser.close()
    got = [v for _, v in read_topic(kafka_bootstrap, topic, 6, timeout_s=20)]
    kinds = sorted(v["type"] for v in got)
    assert kinds == ["form_submit", "identify", "identify", "page_view", "page_view", "page_view"], kinds
    assert {v["anonymous_id"] for v in got} == {cookie_aid}
    assert all(v["source"] == f"site:{SITE_KEY}" and v["context"]["ip"] == "127.0.0.0" for v in got)
    assert all("Chrome" in v["context"]["user_agent"] for v in got)
    # By time, not by string: the ISO text drops the fraction of a whole second ("…:07Z" > "…:07.120000Z").
    views = sorted(
        (v for v in got if v["type"] == "page_view"), key=lambda v: datetime.fromisoformat(v["ts"])
    )
    assert [v["context"]["url"].removeprefix(base).split("?")[0] for v in views] == [
        "/landing",
        "/pricing",
        "/docs",
    ]
    for view in views:  # the landing campaign stays with the session through SPA navigation
        assert view["utm"] == {"source": "linkedin", "medium": "paid_social", "campaign": "abm"}
        assert view["click_ids"] == {"li_fat_id": "L1"}
    form = next(v for v in got if v["type"] == "form_submit")
    assert form["form_id"] == "demo-request" and form["form_kind"] == "demo_request"
    assert form["email"] == "ana@acme.com" and form["person_id"] == "p-42"
    assert form["properties"] == {"company": "Acme"}  # the password never leaves the page
    identifies = [v for v in got if v["type"] == "identify"]
    assert {v.get("email") for v in identifies} == {None, "ana@acme.com"}
    assert all(v["person_id"] == "p-42" for v in identifies)
    assert next(v for v in identifies if "email" not in v)["traits"] == {"plan": "pro"}
