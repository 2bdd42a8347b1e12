"""The seeded simulation: buying committees hear about us, get in market, fill forms, buy (or not).

Per account: each demand-gen channel reaches it with the ground truth's ``reach``; what it heard sets
its chance to become an MQL (``GroundTruth.mql_probability``). Accounts in market research through
capture channels, submit gated-content and demo forms, and walk the CRM stages at fixed rates with
deal sizes by company size. Mentions, daily ad spend and crawler traffic run alongside. Everything
is drawn from one ``random.Random(seed)``, so a seed (and ``end``) reproduces the same events and ids.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from demo import touches as t
from demo.people import Company, Device, Person, make_companies, seeded_uuid
from demo.truth import CAPTURE_CHANNELS, DEMAND_CHANNELS, GroundTruth, Journey
from schemas.channels import Channel
from schemas.events import LEAD_FORM_KINDS

__all__ = ["Expected", "SimEvent", "Simulation", "simulate"]

DAY = 86_400.0
_SPEND: tuple[tuple[str, str, float], ...] = (  # channel, campaign, mean daily cost (USD)
    (Channel.PAID_SEARCH, "brand", 120.0),
    (Channel.PAID_SEARCH, "nonbrand", 340.0),
    (Channel.PAID_SOCIAL, "linkedin-abm", 410.0),
    (Channel.NATIVE_DISPLAY, "taboola-retargeting", 90.0),
    (Channel.VIDEO, "youtube-preroll", 150.0),
    (Channel.PODCAST, "revenue-room-sponsorship", 200.0),
)


@dataclass(frozen=True, slots=True)
class SimEvent:
    """A contract event as JSON-ready dict, with what only the simulation knows about it."""

    ts: float
    event: dict[str, Any]
    account: str = ""
    channel: str = ""  # ground-truth channel of a marketing touch; "" for everything else
    observable: bool = True  # False: anonymous device never identified, invisible to account journeys
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class Expected:
    """Counts the end-to-end test checks ClickHouse against."""

    events_by_type: dict[str, int]
    accounts: int
    people: int
    identified_devices: int
    conversions_by_stage: dict[str, int]
    bot_events: int
    touches: int


@dataclass
class Simulation:
    events: list[SimEvent]
    companies: list[Company]
    truth: GroundTruth
    end: float

    def requests(
        self,
        pixel_share: float = 0.25,
        batch_size: int = 50,
        write_key: str = "dev-write-key",
        site_key: str | None = "dev-site-key",
    ) -> Iterator[Any]:
        """Collector requests in time order (see ``demo.wire``); ``site_key`` None: no pixel."""
        from demo.wire import to_requests  # wire imports this module's types

        return to_requests(
            self.events,
            pixel_share=pixel_share,
            batch_size=batch_size,
            write_key=write_key,
            site_key=site_key,
        )

    def journeys(self, stage: str = "mql", observable_only: bool = False) -> list[Journey]:
        """Per account, touch channels before its first ``stage`` conversion (all of them if none)."""
        touches: dict[str, list[SimEvent]] = {c.domain: [] for c in self.companies}
        converted_at: dict[str, float] = {}
        for e in self.events:
            if e.event["type"] == "crm_stage" and e.event["stage"] == stage:
                converted_at.setdefault(e.account, e.ts)
            elif e.channel and e.account and (e.observable or not observable_only):
                touches[e.account].append(e)
        out = []
        for account, seen in touches.items():
            cut = converted_at.get(account)
            path = tuple(e.channel for e in seen if cut is None or e.ts < cut)
            out.append(Journey(account, path, cut is not None))
        return out

    @property
    def expected(self) -> Expected:
        by_type = Counter(e.event["type"] for e in self.events)
        stages = Counter(e.event["stage"] for e in self.events if e.event["type"] == "crm_stage")
        # One lead per account: a lead form and the CRM's "lead" stage are two signals of the same lead.
        stages["lead"] = len(
            {
                e.account
                for e in self.events
                if not e.is_bot
                and (
                    (e.event["type"] == "crm_stage" and e.event["stage"] == "lead")
                    or (e.event["type"] == "form_submit" and e.event.get("form_kind") in LEAD_FORM_KINDS)
                )
            }
        )
        devices = {e.event["anonymous_id"] for e in self.events if e.event["type"] == "identify"}
        return Expected(
            events_by_type=dict(by_type),
            accounts=len(self.companies),
            people=sum(len(c.committee) for c in self.companies),
            identified_devices=len(devices),
            conversions_by_stage=dict(stages),
            bot_events=sum(e.is_bot for e in self.events),
            touches=sum(bool(e.channel) for e in self.events),
        )


@dataclass
class _Account:
    """Builds one company's events; ``out`` collects them."""

    rng: random.Random
    company: Company
    truth: GroundTruth
    start: float
    end: float
    out: list[SimEvent] = field(default_factory=list)
    identified: set[str] = field(default_factory=set)
    heard_from: str = ""  # the channel that triggered the account (truth); "" if none did

    def pick(self) -> tuple[Person, Device]:
        person = self.rng.choice(self.company.committee)
        return person, self.rng.choice(person.devices)

    def emit(self, ts: float, event: dict[str, Any], channel: str = "", device: Device | None = None) -> None:
        observable = "email" in event or device is None or device.identified
        self.out.append(SimEvent(ts, event, self.company.domain, channel, observable))

    def visit(self, channel: str, ts: float, who: tuple[Person, Device] | None = None) -> dict[str, Any]:
        person, device = who or self.pick()
        event = t.touch(self.rng, channel, ts, self.company, person, device)
        self.emit(ts, event, channel, device)
        if device.identified and device.anonymous_id not in self.identified:
            self.identified.add(device.anonymous_id)
            # Most people tell us who they are soon (newsletter, webinar login); some much later,
            # which the query-time identity view must still stitch onto their earlier touches.
            later = ts + 60 if self.rng.random() < 0.7 else self.rng.uniform(ts, self.end)
            self.emit(later, t.identify_event(self.rng, later, self.company, person, device))
        return event

    def form(self, kind: str, ts: float, channel: str) -> Person:
        person, device = self.pick()
        landing = self.visit(channel, ts - 300, (person, device))
        event = t.form_event(
            self.rng, ts, self.company, person, device, kind, landing, self.heard_from or channel
        )
        self.out.append(SimEvent(ts, event, self.company.domain, channel))
        return person

    def crm(self, ts: float, person: Person, stage: str, amount: float, opp: str) -> bool:
        if ts > self.end:
            return False  # still open at the end of the simulated period
        event = t.crm_event(self.rng, ts, self.company, person, stage, amount, opp, self.heard_from)
        self.out.append(SimEvent(ts, event, self.company.domain))
        return True

    def capture(self, ts_from: float, ts_to: float) -> str:
        channel = self.rng.choices(list(CAPTURE_CHANNELS), list(CAPTURE_CHANNELS.values()))[0]
        self.visit(channel, self.rng.uniform(ts_from, ts_to))
        if self.rng.random() < 0.15:  # retargeting ad seen after the visit
            self.visit(Channel.NATIVE_DISPLAY, min(self.end, self.rng.uniform(ts_to, ts_to + 3 * DAY)))
        return channel

    def run(self) -> None:
        rng, span = self.rng, self.end - self.start
        heard = [c for c in DEMAND_CHANNELS if rng.random() < self.truth.reach_of(c)]
        exposures = sorted(
            (rng.uniform(self.start, self.end - 0.15 * span), c)
            for c in heard
            for _ in range(rng.randint(1, 4))
        )
        fired = next(
            ((ts, c) for ts, c in exposures if rng.random() < self.truth.trigger_probability(c)), None
        )
        trigger = fired[0] if fired else None
        # What brought the account, as its buyers would say: the channel that triggered it, else
        # (in market for reasons we never saw) whatever they found us through.
        self.heard_from = fired[1] if fired else ""
        if trigger is None and rng.random() < self.truth.base_rate:
            trigger = rng.uniform(self.start, self.end - 0.15 * span)  # in market for reasons we never saw
        for ts, channel in exposures:
            self.visit(channel, ts)
        if trigger is None:
            self.browse()
            return
        lead: Person | None = None
        if rng.random() < 0.35:
            channel = self.capture(trigger + 3600, trigger + DAY)
            lead = self.form("gated_content", trigger + DAY + 600, channel)
            self.crm(trigger + DAY + 660, lead, "lead", 0.0, "")
            self.visit(Channel.EMAIL, trigger + rng.uniform(1.5, 3) * DAY)  # nurture after the download
        for _ in range(rng.choice((0, 0, 1))):
            self.capture(trigger + 3600, trigger + 4 * DAY)
        decision = trigger + rng.uniform(4, 6) * DAY
        channel = self.capture(decision - DAY, decision - 600)
        champion = self.form("demo_request", decision, channel)
        self.walk_pipeline(decision, champion, lead)

    def browse(self) -> None:
        """Accounts never in market still read a whitepaper or look around now and then."""
        rng, span = self.rng, self.end - self.start
        if rng.random() < 0.15:
            ts = rng.uniform(self.start, self.end - 0.1 * span)
            person = self.form("gated_content", ts, self.capture(ts - DAY, ts - 600))
            self.crm(ts + 60, person, "lead", 0.0, "")
            self.visit(Channel.EMAIL, min(self.end, ts + rng.uniform(1, 5) * DAY))
        if rng.random() < 0.4:
            self.capture(self.start, self.end)

    def walk_pipeline(self, decision: float, champion: Person, lead: Person | None) -> None:
        rng = self.rng
        amount = float(round(self.company.employees * rng.uniform(20, 60), -2))
        opp = f"opp-{seeded_uuid(rng)[:8]}"
        if lead is None:
            self.crm(decision + 60, champion, "lead", 0.0, "")
        ts = decision + 3600
        if not self.crm(ts, champion, "mql", amount, opp) or rng.random() > self.truth.mql_to_sql:
            return
        ts += rng.uniform(1, 7) * DAY
        if not self.crm(ts, champion, "sql", amount, opp) or rng.random() > self.truth.sql_to_opportunity:
            return
        ts += rng.uniform(3, 14) * DAY
        if not self.crm(ts, champion, "opportunity", amount, opp):
            return
        won = rng.random() < self.truth.opportunity_to_won
        self.crm(ts + rng.uniform(5, 30) * DAY, champion, "closed_won" if won else "closed_lost", amount, opp)


def _background(rng: random.Random, start: float, end: float, bots: int) -> list[SimEvent]:
    """Brand mentions, daily ad spend and crawlers: traffic that belongs to no account."""
    out = []
    day = start - start % DAY
    while day < end:
        for _ in range(rng.randint(1, 3)):
            ts = rng.uniform(max(day, start), min(day + DAY, end))
            out.append(SimEvent(ts, t.mention_event(rng, ts)))
        spend_ts = min(day + DAY - 1, end)
        for channel, campaign, mean in _SPEND:
            cost = mean * rng.uniform(0.6, 1.4)
            out.append(SimEvent(spend_ts, t.spend_event(rng, spend_ts, channel, campaign, cost)))
        day += DAY
    for _ in range(bots):
        anonymous_id = seeded_uuid(rng)
        for _ in range(rng.randint(5, 25)):
            ts = rng.uniform(start, end)
            out.append(SimEvent(ts, t.bot_view(rng, ts, anonymous_id), is_bot=True))
    return out


def simulate(
    accounts: int = 200,
    days: int = 60,
    seed: int = 7,
    ground_truth: GroundTruth | None = None,
    end: datetime | None = None,
) -> Simulation:
    """Simulate ``accounts`` companies over ``days`` days ending at ``end`` (default: now)."""
    truth = ground_truth or GroundTruth()
    end_ts = (end or datetime.now(UTC)).timestamp()
    start = end_ts - days * DAY
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not security
    companies = make_companies(rng, accounts)
    events: list[SimEvent] = []
    for company in companies:
        account = _Account(rng, company, truth, start, end_ts)
        account.run()
        events.extend(account.out)
    events.extend(_background(rng, start, end_ts, bots=max(1, accounts // 25)))
    # A journey may schedule its next step past the end (a form days after the trigger): that has not
    # happened yet, and the collector rejects timestamps more than a day ahead.
    events = [e for e in events if e.ts <= end_ts]
    events.sort(key=lambda e: (e.ts, e.event["event_id"]))
    return Simulation(events, companies, truth, end_ts)
