"""How a touch on each channel looks on the wire: the contract event a real visit would produce.

Page views carry what a browser sends (URL with UTM parameters and click ids, referrer, user agent)
so the stream's classifier derives the channel the way it would for real traffic; off-site
engagement (podcast, video, social, events) arrives as ``engagement`` events naming the channel.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from demo.people import BOT_AGENTS, Company, Device, Person, seeded_uuid
from schemas.channels import Channel

__all__ = [
    "BRAND_TERM",
    "SITE",
    "bot_view",
    "crm_event",
    "form_event",
    "identify_event",
    "mention_event",
    "self_reported",
    "spend_event",
    "touch",
]

SITE = "https://www.touchstream-demo.com"
BRAND = "touchstream-demo"
BRAND_TERM = "touchstream"  # what the simulated buyers search for when they search for the brand
_PAGES = (
    "/",
    "/product",
    "/pricing",
    "/blog/b2b-attribution",
    "/blog/podcast-roi",
    "/customers",
    "/integrations",
)
_SHOWS = ("The Revenue Room", "Demand Gen Radio", "B2B Growth Show")
_REFERRALS = ("https://partner-agency.com/blog/stack", "https://martech-weekly.com/issue-42")
Event = dict[str, Any]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _base(rng: random.Random, type_: str, ts: float, **fields: Any) -> Event:
    return {"event_id": seeded_uuid(rng), "type": type_, "ts": iso(ts), **fields}


def _view(
    rng: random.Random, ts: float, company: Company, device: Device, page: str,
    referrer: str | None = None, utm: dict[str, str] | None = None, click: dict[str, str] | None = None,
) -> Event:  # fmt: skip
    query = {**{f"utm_{k}": v for k, v in (utm or {}).items()}, **(click or {})}
    url = SITE + page + (f"?{urlencode(query)}" if query else "")
    context = {"url": url, "user_agent": device.user_agent, "country": company.country, "title": page}
    if referrer:
        context["referrer"] = referrer
    return _base(
        rng, "page_view", ts, anonymous_id=device.anonymous_id, context=context,
        utm=utm or {}, click_ids=click or {},
    )  # fmt: skip


def _engagement(
    rng: random.Random, ts: float, device: Device, channel: str, kind: str, **props: Any
) -> Event:
    return _base(
        rng, "engagement", ts, anonymous_id=device.anonymous_id, channel=channel, kind=kind,
        duration_s=float(rng.randint(60, 3600)), properties=props,
    )  # fmt: skip


def touch(
    rng: random.Random, channel: str, ts: float, company: Company, person: Person, device: Device
) -> Event:
    """One touch on ``channel`` by ``person`` on ``device`` at ``ts``."""
    page = rng.choice(_PAGES)
    campaign = f"{channel}-q{1 + datetime.fromtimestamp(ts, UTC).month // 4}"
    if channel == Channel.PODCAST:
        return _engagement(
            rng, ts, device, channel, "podcast", show=rng.choice(_SHOWS), episode=rng.randint(1, 90)
        )
    if channel == Channel.VIDEO:
        if rng.random() < 0.5:
            return _engagement(rng, ts, device, channel, "video", video="attribution-explained")
        return _view(rng, ts, company, device, page, "https://www.youtube.com/",
                     {"source": "youtube", "medium": "video", "campaign": campaign})  # fmt: skip
    if channel == Channel.ORGANIC_SOCIAL:
        if rng.random() < 0.3:
            return _engagement(rng, ts, device, channel, "social", network="linkedin", action="reaction")
        return _view(rng, ts, company, device, page, "https://www.linkedin.com/")
    if channel == Channel.PAID_SOCIAL:
        return _view(rng, ts, company, device, page, "https://www.linkedin.com/",
                     {"source": "linkedin", "medium": "paid_social", "campaign": campaign},
                     {"li_fat_id": seeded_uuid(rng)})  # fmt: skip
    if channel == Channel.NATIVE_DISPLAY:
        source = rng.choice(("taboola", "outbrain"))
        return _view(rng, ts, company, device, page, f"https://www.{source}.com/",
                     {"source": source, "medium": "native", "campaign": campaign})  # fmt: skip
    if channel == Channel.EVENTS:
        # Badge scans and webinar attendance come from the event platform, already with an email.
        event = _engagement(rng, ts, device, channel, rng.choice(("event", "webinar")), name="RevOps Summit")
        return {**event, "email": person.email, "account_domain": company.domain}
    if channel == Channel.REVIEW_SITES:
        return _view(rng, ts, company, device, page, "https://www.g2.com/products/touchstream-demo/reviews")
    if channel == Channel.ORGANIC_SEARCH:
        return _view(rng, ts, company, device, "/", "https://www.google.com/")
    if channel == Channel.PAID_SEARCH:
        term = rng.choice(("b2b attribution", BRAND_TERM, "multi touch attribution software"))
        return _view(rng, ts, company, device, "/product", "https://www.google.com/",
                     {"source": "google", "medium": "cpc", "campaign": campaign, "term": term},
                     {"gclid": seeded_uuid(rng).replace("-", "")})  # fmt: skip
    if channel == Channel.EMAIL:
        return _view(rng, ts, company, device, page, None,
                     {"source": "hubspot", "medium": "email", "campaign": "nurture"})  # fmt: skip
    if channel == Channel.REFERRAL:
        return _view(rng, ts, company, device, page, rng.choice(_REFERRALS))
    return _view(rng, ts, company, device, page)  # direct: typed URL or bookmark


SELF_REPORTED_SHARE = 0.3  # forms whose "How did you hear about us?" field is filled
# What buyers type, per channel that truly brought them (messy on purpose: the stream's mapping must cope).
_ANSWERS: dict[str, tuple[str, ...]] = {
    Channel.PODCAST: (
        "heard you on a podcast!",
        "Podcast",
        "The Revenue Room episode",
        "a podcast (spotify)",
    ),
    Channel.VIDEO: ("YouTube", "saw a video", "youtube vid"),
    Channel.ORGANIC_SOCIAL: (
        "Linkedin post from a colleague",
        "LinkedIn",
        "a post on linkedin",
        "twitter / x.com",
    ),
    Channel.PAID_SOCIAL: ("LinkedIn ad", "an ad on LinkedIn", "sponsored post"),
    Channel.NATIVE_DISPLAY: ("a banner somewhere", "display ad"),
    Channel.EVENTS: ("RevOps Summit", "met you at a conference", "webinar"),
    Channel.REVIEW_SITES: ("G2", "g2 crowd reviews", "Capterra"),
    Channel.ORGANIC_SEARCH: ("google", "Googled it", "search"),
    Channel.PAID_SEARCH: ("google ad", "Google Ads"),
    Channel.EMAIL: ("your newsletter", "email"),
    Channel.REFERRAL: ("a colleague recommended you", "word of mouth", "friend"),
    Channel.DIRECT: ("already knew you", "?"),
}
_NO_IDEA = ("don't remember", "n/a", "-", "idk")


def _unit(key: str) -> float:
    """A stable number in [0, 1) per key, drawn without touching the simulation's random stream."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest()) / 2**64


def self_reported(channel: str, key: str) -> str | None:
    """The answer a buyer brought by ``channel`` types on ~30 % of forms (None: field left empty).

    ``key`` (the form's event id) makes the choice stable; one answer in ten is no help at all."""
    if _unit(key + ":asked") >= SELF_REPORTED_SHARE:
        return None
    pick = _unit(key + ":answer")
    options = _ANSWERS.get(channel, _NO_IDEA)
    if pick < 0.1:
        return _NO_IDEA[int(pick * 10 * len(_NO_IDEA))]
    return options[int((pick - 0.1) / 0.9 * len(options))]


def identify_event(rng: random.Random, ts: float, company: Company, person: Person, device: Device) -> Event:
    traits = {"name": person.name, "title": person.title, "company": company.name}
    return _base(rng, "identify", ts, anonymous_id=device.anonymous_id, email=person.email,
                 account_domain=company.domain, traits=traits)  # fmt: skip


def form_event(
    rng: random.Random, ts: float, company: Company, person: Person, device: Device, kind: str,
    landing: Event, heard_from: str = "",
) -> Event:  # fmt: skip
    """A form submitted on the page ``landing`` was viewed on, so it inherits that visit's channel.

    ``heard_from``: the channel that truly brought the account (the planted truth), which ~30 % of
    buyers name in the "How did you hear about us?" field."""
    form_id = "demo-request" if kind == "demo_request" else "whitepaper-attribution"
    event = _base(
        rng, "form_submit", ts, anonymous_id=device.anonymous_id, email=person.email,
        account_domain=company.domain, form_id=form_id, form_kind=kind,
        context=landing["context"], utm=landing.get("utm", {}), click_ids=landing.get("click_ids", {}),
        properties={"company": company.name, "employees": company.employees},
    )  # fmt: skip
    answer = self_reported(heard_from, event["event_id"]) if heard_from else None
    if answer is not None:
        event["self_reported"] = answer
    return event


def crm_event(
    rng: random.Random, ts: float, company: Company, person: Person, stage: str, amount: float, opp: str,
    heard_from: str = "",
) -> Event:  # fmt: skip
    """A CRM stage change; at lead and MQL the contact record holds "How did you hear about us?" on
    ~30 % of them, the sales rep's note of the planted truth."""
    deal = {"amount": amount, "currency": "USD", "opportunity_id": opp} if opp else {}
    event = _base(
        rng, "crm_stage", ts, stage=stage, account_domain=company.domain, email=person.email, **deal
    )
    answer = self_reported(heard_from, event["event_id"]) if heard_from and stage in ("lead", "mql") else None
    if answer is not None:
        event["self_reported"] = answer
    return event


def mention_event(rng: random.Random, ts: float) -> Event:
    competitor = rng.random() < 0.4
    channel = rng.choice((Channel.ORGANIC_SOCIAL, Channel.PODCAST, Channel.REVIEW_SITES, Channel.OTHER))
    return _base(rng, "mention", ts, brand="rival-analytics" if competitor else BRAND, competitor=competitor,
                 channel=channel, reach=rng.randint(100, 50_000))  # fmt: skip


def spend_event(rng: random.Random, ts: float, channel: str, campaign: str, cost: float) -> Event:
    day = datetime.fromtimestamp(ts, UTC).date().isoformat()
    return _base(
        rng, "spend", ts, date=day, channel=channel, campaign=campaign, cost=round(cost, 2), currency="USD"
    )


def bot_view(rng: random.Random, ts: float, anonymous_id: str) -> Event:
    context = {"url": SITE + rng.choice(_PAGES), "user_agent": rng.choice(BOT_AGENTS)}
    return _base(rng, "page_view", ts, anonymous_id=anonymous_id, context=context)
