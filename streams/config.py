"""What a stream worker needs to know, as plain values (built from ``Settings`` in ``cli/worker``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from attribution import RULE_BASED_MODELS
from attribution.self_reported import SelfReportedMapError, load_map
from schemas import topics
from schemas.guards import IdentityGuards, load_guards
from streams.errors import RulesError
from streams.journeys import DAY, Windows
from streams.rules import Rules, load_free_email_domains, load_rules

__all__ = ["APP_ID", "StreamConfig", "StreamTopics"]

APP_ID = "touchstream-streams"  # faust app id = consumer group and changelog topic prefix


@dataclass(frozen=True, slots=True)
class StreamTopics:
    """Topic names; a suffix gives tests and benchmarks their own isolated set."""

    events: str = topics.EVENTS
    by_account: str = topics.BY_ACCOUNT
    touchpoints: str = topics.TOUCHPOINTS
    identities: str = topics.IDENTITIES
    conversions: str = topics.CONVERSIONS
    credits: str = topics.CREDITS
    spend: str = topics.SPEND
    dead_letter: str = topics.DEAD_LETTER
    self_reports: str = topics.SELF_REPORTS
    identity_held: str = topics.IDENTITY_HELD

    @classmethod
    def with_suffix(cls, suffix: str) -> StreamTopics:
        base = cls()
        if not suffix:
            return base
        return cls(*(f"{name}.{suffix}" for name in base.all()))

    def all(self) -> tuple[str, ...]:
        return (
            self.events, self.by_account, self.touchpoints, self.identities,
            self.conversions, self.credits, self.spend, self.dead_letter, self.self_reports,
            self.identity_held,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class StreamConfig:
    rules: Rules
    free_domains: frozenset[str]
    topics: StreamTopics = field(default_factory=StreamTopics)
    windows: Windows = field(default_factory=Windows)
    half_life_days: float = 7.0
    models: tuple[str, ...] = RULE_BASED_MODELS
    dedupe_days: int = 7  # days an event id's first accepted copy is remembered (0: off; streams.dedupe)
    guards: IdentityGuards = field(default_factory=IdentityGuards)  # off unless built from the YAML

    @classmethod
    def build(
        cls,
        *,
        rules_path: Path | None = None,
        brand_terms: tuple[str, ...] = (),
        topic_suffix: str = "",
        demand_gen_days: float = 90,
        lead_gen_days: float = 30,
        half_life_days: float = 7.0,
        self_reported_map: Path | None = None,
        dedupe_days: int = 7,
        identity_guards: Path | None = None,
    ) -> StreamConfig:
        rules = load_rules(rules_path, brand_terms)
        if self_reported_map is not None:
            try:
                rules = replace(rules, self_reported=load_map(self_reported_map))
            except SelfReportedMapError as exc:
                raise RulesError(str(exc)) from None
        return cls(
            rules=rules,
            free_domains=load_free_email_domains(),
            topics=StreamTopics.with_suffix(topic_suffix),
            windows=Windows(demand_gen_s=demand_gen_days * DAY, lead_gen_s=lead_gen_days * DAY),
            half_life_days=half_life_days,
            dedupe_days=dedupe_days,
            guards=load_guards(identity_guards),
        )
