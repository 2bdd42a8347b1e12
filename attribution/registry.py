"""Model names (the same strings in code, config, SQL and output) and the ``credit`` dispatcher."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from attribution import rules
from attribution.errors import UnknownModelError
from attribution.journey import Touch, sort_journey

__all__ = ["DATA_DRIVEN_MODELS", "MODELS", "RULE_BASED_MODELS", "credit"]

RULE_BASED_MODELS: tuple[str, ...] = (
    "first",
    "last",
    "linear",
    "time_decay",
    "u_shaped",
    "w_shaped",
    "full_path",
    "last_non_direct",
)
# Fitted over many journeys at once (attribution.markov / attribution.shapley), not per journey.
DATA_DRIVEN_MODELS: tuple[str, ...] = ("markov", "shapley")
MODELS: tuple[str, ...] = RULE_BASED_MODELS + DATA_DRIVEN_MODELS

_POSITIONAL: dict[str, Callable[[Sequence[Touch]], list[float]]] = {
    "first": rules.first,
    "last": rules.last,
    "linear": rules.linear,
    "u_shaped": rules.u_shaped,
    "w_shaped": rules.w_shaped,
    "full_path": rules.full_path,
    "last_non_direct": rules.last_non_direct,
}


def credit(
    model: str,
    journey: Sequence[Touch],
    conversion_ts: float | None = None,
    half_life_days: float = 7.0,
) -> list[tuple[Touch, float]]:
    """(touch, credit) pairs in (ts, event_id) order for a rule-based ``model``.

    ``conversion_ts`` and ``half_life_days`` only matter to ``time_decay``. Raises
    ``UnknownModelError`` for any other name, including the data-driven ones, which need many journeys.
    """
    ordered = sort_journey(journey)
    if model == "time_decay":
        credits = rules.time_decay(ordered, conversion_ts=conversion_ts, half_life_days=half_life_days)
    else:
        try:
            function = _POSITIONAL[model]
        except KeyError:
            raise UnknownModelError(model, RULE_BASED_MODELS) from None
        credits = function(ordered)
    return list(zip(ordered, credits, strict=True))
