"""Stage 2, keyed by entity (account, or a not-yet-linked person / visitor): journeys and credit.

Faust-free batch logic like :mod:`streams.stage_enrich`. Items per ``by-account`` message:
``["t", touch]`` a touch, ``["c", conversion, first_lead_only]`` a conversion, ``["l", parent, ts]``
a link of this entity to its parent, ``["m", lead, opportunity, lead_conversion]`` markers handed over
by a child (the last element is optional), ``["x", event_ids, drop]`` an erasure (see
:mod:`streams.erasure`): those touches leave the journey, or with ``drop`` the whole entity goes.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas import jsonio
from streams.config import StreamConfig
from streams.credit import Conversion, apply_markers, assemble
from streams.dead_letter import dead_letter
from streams.erasure import ERASE_ITEM
from streams.journeys import JourneyState, Touchpoint
from streams.rows import encode
from streams.stage_enrich import BatchOutput

__all__ = ["account_of", "process_entities"]


def account_of(entity: str) -> str:
    return entity[2:] if entity.startswith("a:") else ""


def _hand_over(state: JourneyState, out: BatchOutput) -> None:
    """Retroactive merge: the buffered touches and markers move to the parent entity."""
    for touch in state.touches:
        out.forward(state.parent, ["t", touch.to_json()])
    if state.lead or state.opportunity or state.lead_conversion:
        lead, opportunity = state.lead, state.opportunity
        markers: list[object] = [
            "m",
            lead and list(lead),
            opportunity and list(opportunity),
            state.lead_conversion,
        ]
        out.forward(state.parent, markers)
    state.touches = []


def _convert(
    config: StreamConfig,
    out: BatchOutput,
    entity: str,
    state: JourneyState,
    conv: Conversion,
    first_only: bool,
) -> None:
    if first_only:
        # A lead form and the CRM's lead stage are two signals of one lead: count the entity's lead
        # once. An earlier lead-creating conversion (e.g. an opportunity marks lead creation) also
        # makes a later form a mere touch. Among lead signals arrival order decides: they travel on
        # different partitions, and a conversion already emitted cannot be taken back.
        if state.lead_conversion and state.lead_conversion != conv.event_id:
            return
        if state.lead is not None and state.lead[1] != conv.event_id and state.lead[0] <= conv.ts:
            return
        state.lead_conversion = conv.event_id
    apply_markers(state, conv)
    account = account_of(entity)
    record, credits = assemble(state, conv, account, config.windows, config.half_life_days, config.models)
    key = (account or conv.event_id).encode()
    topics = config.topics
    out.sends.append((topics.conversions, key, encode(record)))
    out.sends.extend((topics.credits, key, encode(c)) for c in credits)


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


def _apply(
    config: StreamConfig, out: BatchOutput, entity: str, state: JourneyState, item: list[object]
) -> bool:
    """Apply one item; returns whether the state changed."""
    kind = item[0]
    if kind == ERASE_ITEM:
        return _erase(state, item)
    if kind == "l":
        if not state.set_parent(str(item[1]), float(item[2])):  # type: ignore[arg-type]
            return False
        _hand_over(state, out)
        return True
    if state.parent and kind in ("t", "c", "m"):
        out.forward(state.parent, item)  # already merged: everything goes on to the parent
        return False
    if kind == "t":
        return state.add(Touchpoint.from_json(item[1]), config.windows)  # type: ignore[arg-type]
    if kind == "c":
        _convert(config, out, entity, state, Conversion.from_json(item[1]), bool(item[2]))  # type: ignore[arg-type]
        return True
    if kind == "m":
        for name, marker in (("lead", item[1]), ("opportunity", item[2])):
            if marker:
                state.mark(name, float(marker[0]), str(marker[1]))  # type: ignore[index]
        if len(item) > 3 and item[3] and not state.lead_conversion:
            state.lead_conversion = str(item[3])  # the child's counted lead is the parent's too
        return True
    raise ValueError(f"unknown journey item {kind!r}")


def process_entities(
    config: StreamConfig, batch: list[tuple[bytes, bytes]], load: Callable[[str], bytes | None]
) -> BatchOutput:
    """Process one batch of ``(key, value)`` messages of ``by-account``; never raises on bad data."""
    out = BatchOutput()
    states: dict[str, JourneyState] = {}
    changed: dict[str, int] = {}  # entity -> index of the last message that changed it
    dropped: set[str] = set()  # entities an erasure emptied: deleted rather than stored empty
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
            for item in items:
                if _apply(config, out, entity, state, item):
                    changed[entity] = index
                if item[0] == ERASE_ITEM and item[2]:
                    dropped.add(entity)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            letter = dead_letter(
                "unprocessable journey item", value, config.topics.by_account, details={"error": repr(exc)}
            )
            out.sends.append((config.topics.dead_letter, key, letter.model_dump_json().encode()))
            out.dead_letters += 1
    for entity, index in changed.items():
        state = states[entity]
        if entity in dropped and state == JourneyState():
            out.writes[entity] = (None, index)
            continue
        state.prune(config.windows)
        out.writes[entity] = (jsonio.dumps(state.to_json()), index)
    out.flush_forwards(config.topics.by_account)
    return out
