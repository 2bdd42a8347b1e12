"""Revisions: a conversion's credits follow its journey until no late event can change it any more.

Stage 2 keeps each conversion still inside the longest lookback (:class:`streams.journeys.Pending`).
After every ``by-account`` message that changed an entity, :func:`refresh` recomputes the credit
inputs of the conversions it may have affected — account, whether the conversion counts (the earliest
lead signal only), the ids of the touches in its window and which of them mark lead / opportunity
creation — as a stable digest. Only a different digest bumps the conversion's ``revision``, so the
revision is a count of real changes along the entity's message sequence: replaying that sequence
(a crash before the state was written) reproduces the same numbers, whatever the batch boundaries,
and a redelivered touch (a no-op in ``JourneyState.add``) changes nothing. :func:`emit` writes the
latest revision of every conversion bumped in the batch, once per batch; the rows of revision ``n``
depend only on the state after the ``n``-th change, so two runs never disagree about revision ``n``.
"""

from __future__ import annotations

import hashlib

from schemas import jsonio
from streams.config import StreamConfig
from streams.credit import CREDITED_STAGES, apply_markers, assemble, counts, journey_of, shares_of, window_of
from streams.journeys import JourneyState, Pending
from streams.rows import encode
from streams.stage_enrich import BatchOutput

__all__ = ["account_of", "add_conversion", "emit", "refresh", "take_over"]

NEVER = float("-inf")


def account_of(entity: str) -> str:
    return entity[2:] if entity.startswith("a:") else ""


def add_conversion(state: JourneyState, pending: Pending) -> bool:
    """A new conversion (or one handed over by a child entity); False if it is already known here."""
    apply_markers(state, pending.conversion)
    cid = pending.conversion.event_id
    known = state.pending.get(cid)
    if known is None:
        state.pending[cid] = pending
        return True
    if pending.revision <= known.revision and set(pending.seen) <= set(known.seen):
        return False  # a redelivery
    # The same conversion by two routes (a redelivery routed before and after a link): keep the
    # higher revision, and every id either side credited (each needs a zero row when it leaves).
    known.revision = max(known.revision, pending.revision)
    known.seen = known.seen + [eid for eid in pending.seen if eid not in known.seen]
    known.credited = {}  # conservative: every model may have credited every id seen
    known.digest = ""
    return True


def _digest(state: JourneyState, pending: Pending, account: str, config: StreamConfig) -> str:
    """Stable hash of what the conversion's credits depend on (touches are immutable per id)."""
    conversion = pending.conversion
    counted = counts(state, conversion, pending.lead_signal)
    inputs: list[object] = [account, counted]
    if counted and conversion.stage in CREDITED_STAGES:
        window, lead_touch, opp_touch = window_of(state, conversion, config.windows)
        inputs += [[t.event_id for t in window], lead_touch, opp_touch]
    return hashlib.blake2b(jsonio.dumps(inputs), digest_size=8).hexdigest()


def _remember(state: JourneyState, pending: Pending, config: StreamConfig) -> None:
    """Add this revision's credited ids to ``seen`` and to each model's mask."""
    conversion = pending.conversion
    counted = counts(state, conversion, pending.lead_signal)
    if not counted or conversion.stage not in CREDITED_STAGES:
        return
    journey = journey_of(state, conversion, config.windows)
    shares = shares_of(journey, conversion, config.models, config.half_life_days)
    # A model without a mask while ids were seen (handed over by two routes, or re-seeded) counts as
    # having credited all of them; it stays so.
    unmasked = {m for m in shares if m not in pending.credited} if pending.seen else set()
    index = {eid: i for i, eid in enumerate(pending.seen)}
    for model, credited in shares.items():
        bits = pending.credited.get(model, 0)
        for eid in credited:
            if eid not in index:
                index[eid] = len(pending.seen)
                pending.seen.append(eid)
            bits |= 1 << index[eid]
        if model not in unmasked:
            pending.credited[model] = bits


def refresh(state: JourneyState, entity: str, since: float, config: StreamConfig) -> set[str]:
    """Bump the revision of every conversion at or after ``since`` whose inputs changed; their ids."""
    if state.parent:
        return set()
    account = account_of(entity)
    bumped: set[str] = set()
    for cid, pending in state.pending.items():
        if pending.conversion.ts < since:
            continue
        digest = _digest(state, pending, account, config)
        if digest == pending.digest:
            continue
        pending.digest = digest
        pending.revision += 1
        _remember(state, pending, config)
        bumped.add(cid)
    return bumped


def take_over(state: JourneyState) -> list[list[object]]:
    """The hand-over items of the entity's conversions (``["h", pending]``); they leave this entity."""
    items: list[list[object]] = [["h", p.to_json()] for p in state.pending.values()]
    state.pending = {}
    return items


def _earlier(pending: Pending, models: tuple[str, ...]) -> dict[str, list[str]]:
    """model -> ids an earlier revision may have credited there (all of ``seen`` without a mask)."""
    masked = pending.earlier()
    return {model: masked.get(model, pending.seen) for model in models}


def emit(config: StreamConfig, out: BatchOutput, entity: str, state: JourneyState, bumped: set[str]) -> None:
    """The conversion row and credit rows of the current revision of each bumped conversion."""
    account = account_of(entity)
    topics = config.topics
    for cid in sorted(bumped):
        pending = state.pending.get(cid)
        if pending is None:  # handed over or erased since
            continue
        conversion = pending.conversion
        record, credits = assemble(
            state,
            conversion,
            account,
            config.windows,
            config.half_life_days,
            config.models,
            revision=pending.revision,
            counted=counts(state, conversion, pending.lead_signal),
            earlier=_earlier(pending, config.models),
        )
        key = (account or conversion.event_id).encode()
        out.sends.append((topics.conversions, key, encode(record)))
        out.sends.extend((topics.credits, key, encode(c)) for c in credits)
