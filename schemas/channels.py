"""The channel taxonomy: every touchpoint lands in one channel, every channel in one category.

Demand-gen channels create intent before anyone is in market (podcasts, video, social, events);
lead-gen channels capture intent that already exists (search, email, gated offers). The category
decides the lookback window (90 vs 30 days by default) and splits the KPIs.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CATEGORY_OF", "Category", "Channel", "category_of"]


class Channel(StrEnum):
    PAID_SEARCH = "paid_search"
    ORGANIC_SEARCH = "organic_search"
    PAID_SOCIAL = "paid_social"
    ORGANIC_SOCIAL = "organic_social"
    EMAIL = "email"
    PODCAST = "podcast"
    VIDEO = "video"
    NATIVE_DISPLAY = "native_display"
    EVENTS = "events"
    REVIEW_SITES = "review_sites"
    REFERRAL = "referral"
    DIRECT = "direct"
    OTHER = "other"


class Category(StrEnum):
    DEMAND_GEN = "demand_gen"
    LEAD_GEN = "lead_gen"
    DIRECT = "direct"


# Paid social counts as demand gen because B2B teams mostly run it ungated for reach; a team that
# runs lead-gen forms on LinkedIn can override the category per rule in the classification table.
CATEGORY_OF: dict[Channel, Category] = {
    Channel.PAID_SEARCH: Category.LEAD_GEN,
    Channel.ORGANIC_SEARCH: Category.LEAD_GEN,
    Channel.EMAIL: Category.LEAD_GEN,
    Channel.OTHER: Category.LEAD_GEN,
    Channel.PAID_SOCIAL: Category.DEMAND_GEN,
    Channel.ORGANIC_SOCIAL: Category.DEMAND_GEN,
    Channel.PODCAST: Category.DEMAND_GEN,
    Channel.VIDEO: Category.DEMAND_GEN,
    Channel.NATIVE_DISPLAY: Category.DEMAND_GEN,
    Channel.EVENTS: Category.DEMAND_GEN,
    Channel.REVIEW_SITES: Category.DEMAND_GEN,
    Channel.REFERRAL: Category.DEMAND_GEN,
    Channel.DIRECT: Category.DIRECT,
}


def category_of(channel: str) -> Category:
    """Category of a channel name; unknown names fall back to ``other``'s category."""
    try:
        return CATEGORY_OF[Channel(channel)]
    except ValueError:
        return CATEGORY_OF[Channel.OTHER]
