"""Stage 2, keyed by entity (account, or a not-yet-linked person / visitor): journeys and credit.

Faust-free batch logic like :mod:`streams.stage_enrich`. Items per ``by-account`` message:
``["t", touch]`` a touch, ``["c", conversion, first_lead_only]`` a conversion, ``["l", parent, ts]``
a link of this entity to its parent, ``["m", lead, opportunity]`` markers and ``["h", pending]``
conversions handed over by a child (older ``m`` items carry a fourth element, ignored),
``["x", event_ids, drop]`` an erasure (see :mod:`streams.erasure`): those touches leave the
journey, or with ``drop`` the whole entity goes. Conversions are credited, and re-credited whenever
their journey changes, by :mod:`streams.revisions`.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas import jsonio
from streams.config import StreamConfig
from streams.dead_letter import dead_letter
from streams.erasure import ERASE_ITEM
from streams.journeys import Conversion, JourneyState, Pending, Touchpoint
from streams.revisions import NEVER, account_of, add_conversion, emit, refresh, take_over
from streams.stage_enrich import BatchOutput

__all__ = ["account_of", "process_entities"]


def _hand_over(state: JourneyState, out: BatchOutput) -> None:
    """Retroactive merge: the buffered touches, markers and conversions move to the parent entity."""
    for touch in state.touches:
        out.forward(state.parent, ["t", touch.to_json()])
    if state.lead or state.opportunity:
        lead, opportunity = state.lead, state.opportunity
        out.forward(state.parent, ["m", lead and list(lead), opportunity and list(opportunity)])
    for item in take_over(state):  # after touches and markers: re-credited on the parent
        out.forward(state.parent, item)
    state.touches = []


def _erase(state: JourneyState, item: list[object]) -> bool:
    """Forget touches by event id, or (``drop``) everything this entity knows."""
    erased = set(map(str, item[1]))  # type: ignore[call-overload]
    if item[2]:
        empty = JourneyState()
        changed = state != empty
        for name in JourneyState.__slots__:
            setattr(state, name, getattr(empty, name))
        return changed
    kept = [t for t in state.touches if t.event_id not in erased]
    changed = len(kept) != len(state.touches)
    state.touches = kept
    # Markers stay: they hold a time and a conversion id, not the person, and clearing them would let
    # a second lead signal of the account count as a new lead.
    return changed


def _apply(config: StreamConfig, out: BatchOutput, state: JourneyState, item: list[object]) -> float | None:
    """Apply one item; None if the state did not change, else the earliest conversion time affected."""
    kind = item[0]
    if kind == ERASE_ITEM:
        return NEVER if _erase(state, item) else None
    if kind == "l":
        if not state.set_parent(str(item[1]), float(item[2])):  # type: ignore[arg-type]
            return None
        _hand_over(state, out)
        return NEVER
    if state.parent and kind in ("t", "c", "m", "h"):
        out.forward(state.parent, item)  # already merged: everything goes on to the parent
        return None
    if kind == "t":
        touch = Touchpoint.from_json(item[1])  # type: ignore[arg-type]
        return touch.ts if state.add(touch, config.windows) else None
    if kind == "c":
        conversion = Conversion.from_json(item[1])  # type: ignore[arg-type]
        return conversion.ts if add_conversion(state, Pending(conversion, bool(item[2]))) else None
    if kind == "h":  # a child's conversion: it and the conversions its markers reach need a look
        pending = Pending.from_json(item[1])  # type: ignore[arg-type]
        return pending.conversion.ts if add_conversion(state, pending) else None
    if kind == "m":  # a marker moved earlier: conversions from its new time on may change
        changed: float | None = None
        for name, marker in (("lead", item[1]), ("opportunity", item[2])):
            before = state.lead if name == "lead" else state.opportunity
            if marker:
                state.mark(name, float(marker[0]), str(marker[1]))  # type: ignore[index]
            after = state.lead if name == "lead" else state.opportunity
            if after != before and after is not None:
                changed = after[0] if changed is None else min(changed, after[0])
        return changed
    raise ValueError(f"unknown journey item {kind!r}")


def process_entities(
    config: StreamConfig, batch: list[tuple[bytes, bytes]], load: Callable[[str], bytes | None]
) -> BatchOutput:
    """Process one batch of ``(key, value)`` messages of ``by-account``; never raises on bad data."""
    out = BatchOutput()
    states: dict[str, JourneyState] = {}
    changed: dict[str, int] = {}  # entity -> index of the last message that changed it
    dropped: set[str] = set()  # entities an erasure emptied: deleted rather than stored empty
    bumped: dict[str, set[str]] = {}  # entity -> conversions whose revision went up in this batch
    for index, (key, value) in enumerate(batch):
        entity = key.decode("utf-8", errors="replace")
        try:
            items = jsonio.loads(value)
            state = states.get(entity)
            if state is None:
                stored = load(entity)
                state = states[entity] = (
                    JourneyState.from_json(jsonio.loads(stored)) if stored else JourneyState()
                )
            since: float | None = None
            for item in items:
                affected = _apply(config, out, state, item)
                if affected is not None:
                    since = affected if since is None else min(since, affected)
                if item[0] == ERASE_ITEM and item[2]:
                    dropped.add(entity)
            if since is not None:
                changed[entity] = index
                # Per message, not per batch: revision numbers must not depend on batch boundaries.
                bumped.setdefault(entity, set()).update(refresh(state, entity, since, config))
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            letter = dead_letter(
                "unprocessable journey item", value, config.topics.by_account, details={"error": repr(exc)}
            )
            out.sends.append((config.topics.dead_letter, key, letter.model_dump_json().encode()))
            out.dead_letters += 1
    for entity, cids in bumped.items():
        emit(config, out, entity, states[entity], cids)
    for entity, index in changed.items():
        state = states[entity]
        if entity in dropped and state == JourneyState():
            out.writes[entity] = (None, index)
            continue
        state.prune(config.windows)
        out.writes[entity] = (jsonio.dumps(state.to_json()), index)
    out.flush_forwards(config.topics.by_account)
    return out
