"""The alert rules file: a pydantic schema over ``alerts/rules.yaml`` and its loader."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alerts.errors import AlertRulesError

__all__ = ["DEFAULT_RULES", "IdentityRule", "IntakeRule", "LagRule", "Rules", "VelocityRule", "load_rules"]

DEFAULT_RULES = Path(__file__).with_name("rules.yaml")


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    for_minutes: float = Field(ge=0)
    resolve_for_minutes: float = Field(ge=0)

    @property
    def for_s(self) -> float:
        return self.for_minutes * 60

    @property
    def resolve_for_s(self) -> float:
        return self.resolve_for_minutes * 60


class _DropRule(_Rule):
    fire_below: float = Field(gt=0, lt=1)
    resolve_above: float = Field(gt=0)

    @model_validator(mode="after")
    def _hysteresis(self) -> Self:
        if self.resolve_above <= self.fire_below:
            raise ValueError("resolve_above must be greater than fire_below, or alerts would flap")
        return self


class VelocityRule(_DropRule):
    window_days: int = Field(90, ge=1)
    baseline_windows: int = Field(1, ge=1, le=8)
    segments: list[Literal["overall", "category", "channel"]] = ["overall", "category", "channel"]
    min_opportunities: int = Field(10, ge=0)
    every_minutes: float = Field(5, ge=0)


class IntakeRule(_DropRule):
    dimensions: list[Literal["source", "type", "channel"]] = ["source", "type", "channel"]
    window_minutes: int = Field(10, ge=1, le=180)
    settle_seconds: int = Field(60, ge=0)
    baseline_weeks: int = Field(4, ge=1, le=12)
    min_history_weeks: int = Field(2, ge=1)
    min_events: int = Field(30, ge=0)

    @model_validator(mode="after")
    def _history(self) -> Self:
        if self.min_history_weeks > self.baseline_weeks:
            raise ValueError("min_history_weeks cannot exceed baseline_weeks")
        return self


class LagRule(_Rule):
    fire_above: int = Field(10_000, ge=0)
    resolve_below: int = Field(1_000, ge=0)
    groups: list[str] = []

    @model_validator(mode="after")
    def _hysteresis(self) -> Self:
        if self.resolve_below > self.fire_above:
            raise ValueError("resolve_below must not exceed fire_above, or alerts would flap")
        return self


class IdentityRule(_Rule):
    """Match-rate gauges and the device-jump alert (``alerts.identity``)."""

    for_minutes: float = Field(0, ge=0)
    resolve_for_minutes: float = Field(60, ge=0)
    match_window_days: int = Field(30, ge=1)
    device_jump: int = Field(50, ge=2)
    window_hours: float = Field(24, gt=0)
    every_minutes: float = Field(5, ge=0)


class Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    velocity: VelocityRule
    intake: IntakeRule
    lag: LagRule
    # Optional, so a rules file written before it existed still loads (with these defaults).
    identity: IdentityRule = IdentityRule()


def load_rules(path: Path | None = None) -> Rules:
    """Read and validate a rules file (default: the one shipped next to this module)."""
    source = path or DEFAULT_RULES
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AlertRulesError(f"cannot read alert rules {source}: {exc}") from exc
    try:
        return Rules.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise AlertRulesError(f"invalid alert rules {source}: {problems}") from exc
