"""analytics.js (@segment/analytics-next) and the Snowplow browser tracker, from npm, in headless Chromium.

The test page is served from one origin and the collector from another, as on a real site; the
collector also serves the settings analytics.js fetches, so no other host is contacted. Debian's
chromium and ``make node-deps`` are required: when either is missing the test fails, never skips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from compat_harness import SITE_KEY, Served, collector, read_topic, serve
from playwright.sync_api import sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
SEGMENT_JS = ROOT / "node_modules/@segment/analytics-next/dist/umd"
SNOWPLOW_JS = ROOT / "node_modules/@snowplow/browser-tracker/dist"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

PAGE = """<!doctype html><html><head><title>Pricing - Acme</title></head><body>
<script src="/js/segment/index.js"></script>
<script src="/js/snowplow/index.umd.min.js"></script>
<script>
  const COLLECTOR = "{collector}";
  window.done = {{segment: false, snowplow: false}};
  const analytics = AnalyticsNext.AnalyticsBrowser.load({{writeKey: "{key}", cdnURL: COLLECTOR}});
  Promise.all([
    analytics.page(),
    analytics.track("Demo Requested", {{form_id: "demo"}}),
    analytics.identify("user-7", {{email: "ana@initech.com", company: {{website: "initech.com"}}}}),
  ]).then(() => {{ window.done.segment = true; }});
  const sp = snowplowBrowserTracking;
  sp.newTracker("sp", COLLECTOR, {{appId: "{key}", eventMethod: "post", bufferSize: 1}});
  sp.setUserId("user-7");
  sp.trackPageView();
  sp.trackSelfDescribingEvent({{event: {{schema: "iglu:com.acme/podcast_played/jsonschema/1-0-0",
                                         data: {{episode: 12}}}}}});
  window.done.snowplow = true;
</script></body></html>"""


@pytest.fixture
def served(kafka_bootstrap: str, topic_factory: Callable[..., str]) -> Iterator[tuple[Served, str]]:
    assert (SEGMENT_JS / "index.js").is_file(), "run `make node-deps` (npm ci) for the browser trackers"
    assert (SNOWPLOW_JS / "index.umd.min.js").is_file(), (
        "run `make node-deps` (npm ci) for the browser trackers"
    )
    with collector(
        kafka_bootstrap, topic_factory(prefix="compat-ev"), topic_factory(prefix="compat-pe")
    ) as s:

        async def page(request: Request) -> HTMLResponse:
            return HTMLResponse(PAGE.format(collector=s.base, key=SITE_KEY))

        site = Starlette(routes=[
            Route("/pricing", page),
            Mount("/js/segment", StaticFiles(directory=SEGMENT_JS)),
            Mount("/js/snowplow", StaticFiles(directory=SNOWPLOW_JS)),
        ])  # fmt: skip
        with serve(site) as port:
            yield s, f"http://127.0.0.1:{port}"


def test_analytics_js_and_snowplow_browser_tracker(served: tuple[Served, str], kafka_bootstrap: str) -> None:
    collector_, site = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            log: list[str] = []
            page.on("console", lambda m: log.append(f"console {m.type}: {m.text}"))
            page.on("requestfailed", lambda r: log.append(f"failed {r.method} {r.url}: {r.failure}"))
            page.on("request", lambda r: log.append(f"request {r.method} {r.url}"))
            page.on("response", lambda r: log.append(f"{r.status} {r.request.method} {r.url}"))
            page.goto(f"{site}/pricing?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=G1")
            try:
                page.wait_for_function("window.done.segment && window.done.snowplow", timeout=20_000)
            except Exception:
                raise AssertionError("\n".join(log)) from None
            events = read_topic(kafka_bootstrap, collector_.events_topic, 5, timeout_s=20)
            assert len(events) == 5, "\n".join(log)
        finally:
            browser.close()
    kinds = sorted(e["type"] for e in events)
    assert kinds == ["engagement", "form_submit", "identify", "page_view", "page_view"], kinds
    views = [e for e in events if e["type"] == "page_view"]
    for view in views:
        assert view["context"]["url"].startswith(f"{site}/pricing")
        assert view["utm"] == {"source": "google", "medium": "cpc", "campaign": "brand"}
        assert view["click_ids"] == {"gclid": "G1"}
        assert view["source"] == f"site:{SITE_KEY}"
        assert "Chrome" in view["context"]["user_agent"]
    assert views[0]["context"]["title"] == "Pricing - Acme"
    form = next(e for e in events if e["type"] == "form_submit")
    identify = next(e for e in events if e["type"] == "identify")
    assert (form["form_id"], form["form_kind"]) == ("demo", "demo_request")
    assert (identify["person_id"], identify["email"], identify["account_domain"]) == (
        "user-7", "ana@initech.com", "initech.com",
    )  # fmt: skip
    assert form["anonymous_id"] == identify["anonymous_id"]  # analytics.js keeps one anonymous id
    podcast = next(e for e in events if e["type"] == "engagement")
    assert (podcast["channel"], podcast["kind"], podcast["person_id"]) == ("podcast", "podcast", "user-7")
    assert podcast["anonymous_id"]  # the Snowplow domain user id (duid)
