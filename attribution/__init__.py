"""Attribution models: rule-based credit per journey, Markov and Shapley over many journeys."""

from __future__ import annotations

from attribution.errors import AttributionError, AttributionInputError, UnknownModelError
from attribution.journey import Touch, sort_journey
from attribution.registry import DATA_DRIVEN_MODELS, MODELS, RULE_BASED_MODELS, credit
from attribution.rules import (
    first,
    full_path,
    last,
    last_non_direct,
    linear,
    time_decay,
    u_shaped,
    w_shaped,
)

__all__ = [
    "DATA_DRIVEN_MODELS",
    "MODELS",
    "RULE_BASED_MODELS",
    "AttributionError",
    "AttributionInputError",
    "Touch",
    "UnknownModelError",
    "credit",
    "first",
    "full_path",
    "last",
    "last_non_direct",
    "linear",
    "sort_journey",
    "time_decay",
    "u_shaped",
    "w_shaped",
]
