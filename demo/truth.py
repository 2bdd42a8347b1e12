"""The demo's ground truth: which channels really raise an account's chance to convert.

Every demand-gen channel reaches the same share of accounts by default, so a data-driven model can
only tell them apart by what they do to conversion (their ``lift``), not by how often they appear;
that is what makes "the model ranks the strongest channel first" a fair test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from schemas.channels import Channel

__all__ = ["CAPTURE_CHANNELS", "DEMAND_CHANNELS", "GroundTruth", "Journey"]

DEMAND_CHANNELS: tuple[str, ...] = (
    Channel.PODCAST,
    Channel.VIDEO,
    Channel.ORGANIC_SOCIAL,
    Channel.PAID_SOCIAL,
    Channel.NATIVE_DISPLAY,
    Channel.EVENTS,
    Channel.REVIEW_SITES,
)
# Channels that capture intent once an account is in market, with how often each is the way in.
CAPTURE_CHANNELS: Mapping[str, float] = MappingProxyType(
    {
        Channel.ORGANIC_SEARCH: 0.22,
        Channel.PAID_SEARCH: 0.22,
        Channel.DIRECT: 0.20,
        Channel.EMAIL: 0.20,
        Channel.REFERRAL: 0.16,
    }
)

_DEFAULT_LIFT: Mapping[str, float] = MappingProxyType(
    {
        Channel.PODCAST: 8.0,
        Channel.VIDEO: 0.8,
        Channel.EVENTS: 0.7,
        Channel.ORGANIC_SOCIAL: 0.6,
        Channel.REVIEW_SITES: 0.5,
        Channel.PAID_SOCIAL: 0.4,
        Channel.NATIVE_DISPLAY: 0.2,
    }
)


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """Which exposures put an account in market.

    Each demand-gen channel reaches an account with ``reach`` and then touches it 1-4 times; every
    exposure on channel c triggers in-market research with probability ``per_exposure * lift[c]``
    (capped), which leads to search and direct visits, a demo request and an MQL within days.
    Accounts no exposure triggered still go in market with ``base_rate``. Later stages follow fixed
    rates, so the ranking holds for every stage (with fewer samples).
    """

    lift: Mapping[str, float] = field(default_factory=lambda: _DEFAULT_LIFT)
    reach: float | Mapping[str, float] = 0.3
    per_exposure: float = 0.05
    base_rate: float = 0.04
    cap: float = 0.9
    mql_to_sql: float = 0.6
    sql_to_opportunity: float = 0.7
    opportunity_to_won: float = 0.35

    def reach_of(self, channel: str) -> float:
        if isinstance(self.reach, float | int):
            return float(self.reach)
        return float(self.reach.get(channel, 0.0))

    def trigger_probability(self, channel: str) -> float:
        return min(self.cap, self.per_exposure * self.lift.get(channel, 0.0))

    @property
    def strongest(self) -> str:
        """The channel a data-driven model should rank first."""
        return max(self.lift, key=lambda c: self.lift[c])


@dataclass(frozen=True, slots=True)
class Journey:
    """One account's touch channels in time order, up to its first conversion at the stage."""

    account: str
    channels: tuple[str, ...]
    converted: bool
