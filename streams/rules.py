"""The channel rules table: loaded from YAML (bundled or ``TOUCHSTREAM_CHANNEL_RULES``) and checked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from attribution.self_reported import SelfReportedMap, default_map
from schemas.channels import Category, Channel
from streams.errors import RulesError

__all__ = [
    "DEFAULT_RULES_PATH",
    "FREE_EMAIL_PATH",
    "Rules",
    "UtmRule",
    "load_free_email_domains",
    "load_rules",
]

DEFAULT_RULES_PATH = Path(__file__).with_name("channel_rules.yaml")
FREE_EMAIL_PATH = Path(__file__).with_name("free_email_domains.txt")


@dataclass(frozen=True, slots=True)
class UtmRule:
    """First matching rule wins; an empty ``mediums`` / ``sources`` set matches anything."""

    mediums: frozenset[str]
    sources: frozenset[str]
    channel: Channel
    category: Category


# eq=False: identity hash. Rules key several lru_caches per event; the generated hash walked every
# rule tuple on each lookup (~7 % of stage 1 CPU in py-spy).
@dataclass(frozen=True, slots=True, eq=False)
class Rules:
    click_ids: tuple[tuple[str, Channel], ...]
    utm: tuple[UtmRule, ...]
    referrers: tuple[tuple[str, Channel], ...]  # (host pattern, channel), longest pattern first
    search_query_params: tuple[str, ...]
    bot_regex: re.Pattern[str]
    brand_terms: tuple[str, ...] = ()
    # "How did you hear about us?" answers -> channel (bundled, or TOUCHSTREAM_SELF_REPORTED_MAP).
    self_reported: SelfReportedMap = field(default_factory=default_map)


def _channel(value: Any, where: str) -> Channel:
    try:
        return Channel(str(value))
    except ValueError:
        known = ", ".join(c.value for c in Channel)
        raise RulesError(f"{where}: unknown channel {value!r}; expected one of {known}") from None


def _category(value: Any, channel: Channel, where: str) -> Category:
    from schemas.channels import category_of

    if value is None:
        return category_of(channel)
    try:
        return Category(str(value))
    except ValueError:
        raise RulesError(f"{where}: unknown category {value!r}") from None


def _words(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{where}: expected a list of strings")
    return frozenset(v.strip().lower() for v in value)


def parse_rules(raw: Any, brand_terms: tuple[str, ...] = ()) -> Rules:
    """Validate the decoded YAML into :class:`Rules`; raises :class:`RulesError` naming the bad entry."""
    if not isinstance(raw, dict):
        raise RulesError("channel rules: the top level must be a mapping")
    clicks = tuple((str(k), _channel(v, f"click_ids.{k}")) for k, v in (raw.get("click_ids") or {}).items())
    utm = []
    for i, rule in enumerate(raw.get("utm") or []):
        where = f"utm[{i}]"
        if not isinstance(rule, dict) or "channel" not in rule:
            raise RulesError(f"{where}: each rule needs a channel")
        channel = _channel(rule["channel"], where)
        utm.append(
            UtmRule(
                mediums=_words(rule.get("medium"), f"{where}.medium"),
                sources=_words(rule.get("source"), f"{where}.source"),
                channel=channel,
                category=_category(rule.get("category"), channel, where),
            )
        )
    referrers: list[tuple[str, Channel]] = []
    for name, hosts in (raw.get("referrers") or {}).items():
        channel = _channel(name, f"referrers.{name}")
        referrers.extend((h, channel) for h in _words(hosts, f"referrers.{name}"))
    referrers.sort(key=lambda pair: (-len(pair[0]), pair[0]))  # most specific host first
    patterns = raw.get("bot_patterns") or []
    try:
        bot_regex = re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)", re.IGNORECASE)
    except re.error as exc:
        raise RulesError(f"bot_patterns: {exc}") from exc
    params = tuple(_words(raw.get("search_query_params"), "search_query_params")) or ("q",)
    return Rules(
        click_ids=clicks,
        utm=tuple(utm),
        referrers=tuple(referrers),
        search_query_params=params,
        bot_regex=bot_regex,
        brand_terms=tuple(t.strip().lower() for t in brand_terms if t.strip()),
    )


def load_rules(path: Path | None = None, brand_terms: tuple[str, ...] = ()) -> Rules:
    """Read the rules file (default: the bundled ``channel_rules.yaml``)."""
    source = path or DEFAULT_RULES_PATH
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"cannot read channel rules {source}: {exc}") from exc
    return parse_rules(raw, brand_terms)


def load_free_email_domains(path: Path = FREE_EMAIL_PATH) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))
