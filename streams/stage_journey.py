"""Stage 2, keyed by entity (account, or a not-yet-linked person / visitor): journeys and credit.

Faust-free batch logic like :mod:`streams.stage_enrich`. Items per ``by-account`` message:
``["t", touch]`` a touch, ``["c", conversion, first_lead_only]`` a conversion, ``["l", parent, ts]``
a link of this entity to its parent, ``["m", lead, opportunity]`` markers and ``["h", pending]``
conversions handed over by a child (older ``m`` items carry a fourth element, ignored),
``["x", event_ids, drop]`` an erasure (see :mod:`streams.erasure`): those touches leave the
journey, or with ``drop`` the whole entity goes; ``["r", parent, revoked]`` revokes or restores the
link to ``parent`` (:mod:`streams.identity_control`). Conversions are credited, and re-credited whenever
their journey changes, by :mod:`streams.revisions`. A ``c`` item may carry a fourth element, the
account its event names.

A person (``p:``) keeps a copy of its touches after it links to an account and forwards each new
one there. Its parent is its latest link by event time; when that changes, the old account gets an
erasure of the person's touches (its conversions are revised without them) and the new account all
of them (its conversions are revised with them), so every arrival order ends the same way. A revoked
link does not count: revoking the current one moves the person to the latest link left, or to none. A
conversion whose event names an account goes to that account; the person's touches do not follow
it there.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas import jsonio
from streams.config import StreamConfig
from streams.dead_letter import dead_letter
from streams.erasure import ERASE_ITEM
from streams.identity import account_key, person_key
from streams.identity_control import REVOKE_ITEM, SHARED_ITEM
from streams.journeys import Conversion, JourneyState, Pending, Touchpoint
from streams.revisions import NEVER, account_of, add_conversion, emit, refresh, take_over
from streams.stage_enrich import BatchOutput

__all__ = ["account_of", "process_entities"]

LATER = float("inf")  # "changed, but no conversion is affected": the state is written, nothing revised


def _hand_over(state: JourneyState, out: BatchOutput) -> None:
    """Retroactive merge: a device's markers and conversions move to its parent (its touches are
    routed one by one, see ``_device``)."""
    if state.lead or state.opportunity:
        lead, opportunity = state.lead, state.opportunity
        out.forward(state.parent, ["m", lead and list(lead), opportunity and list(opportunity)])
    for item in take_over(state):  # after touches and markers: re-credited on the parent
        out.forward(state.parent, item)


def _move(state: JourneyState, before: str, out: BatchOutput) -> None:
    """A person's link changed: its touches leave the old account and all go to the new one (none:
    an unlinked person's touches stay its own journey)."""
    if before:
        ids = [t.event_id for t in state.touches]
        if ids:
            out.forward(before, [ERASE_ITEM, ids, False])
    if not state.parent:
        return
    for touch in state.touches:  # kept: the person may move again
        out.forward(state.parent, ["t", touch.to_json()])
    if state.lead or state.opportunity:  # markers of conversions buffered before the first link
        lead, opportunity = state.lead, state.opportunity
        out.forward(state.parent, ["m", lead and list(lead), opportunity and list(opportunity)])
        state.lead = state.opportunity = None  # they moved with those conversions, once
    for item in take_over(state):
        out.forward(state.parent, item)


def _device(config: StreamConfig, out: BatchOutput, state: JourneyState, item: list[object]) -> float | None:
    """A device's touch, link, revocation or shared flag (``["s", shared]``, from stage 1).

    The device keeps its touches; each goes where :meth:`JourneyState.device_dest` says (its stamped
    person, else the device's parent, else nowhere: the device's own journey). When a link, a
    revocation or the shared flag changes that, the touches that change owner leave the old one (an
    erasure, which a person passes on to its account) and go to the new one, so the answer is the rule's
    in every arrival order; ``relink`` brings them back.
    """
    kind = item[0]
    if kind == "t":
        touch = Touchpoint.from_json(item[1])  # type: ignore[arg-type]
        if not state.add(touch, config.windows):
            return None  # redelivered or too old
        if len(item) > 2 and item[2]:
            state.stamps[touch.event_id] = person_key(str(item[2]))
        dest = state.device_dest(touch.event_id)
        if not dest:
            return touch.ts  # the device's own journey
        out.forward(dest, ["t", item[1]])
        return LATER
    before = {t.event_id: state.device_dest(t.event_id) for t in state.touches}
    old = (state.parent, dict(state.links), set(state.revoked), state.shared)
    if kind == "l":
        state.set_parent(str(item[1]), float(item[2]))  # type: ignore[arg-type]
    elif kind == REVOKE_ITEM:
        state.revoke(str(item[1]), bool(item[2]))
    else:
        state.set_shared(bool(item[1]))
    if (state.parent, state.links, state.revoked, state.shared) == old:
        return None
    leaving: dict[str, list[str]] = {}
    for touch in state.touches:
        was, now = before[touch.event_id], state.device_dest(touch.event_id)
        if was != now:
            if was:
                leaving.setdefault(was, []).append(touch.event_id)
            if now:
                out.forward(now, ["t", touch.to_json()])
    for dest, ids in leaving.items():
        out.forward(dest, [ERASE_ITEM, ids, False])
    if state.parent and state.parent != old[0]:
        _hand_over(state, out)  # markers and conversions buffered while the device had no parent
    return NEVER


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
) -> float | None:
    """Apply one item; None if the state did not change, else the earliest conversion time affected."""
    kind = item[0]
    person = entity.startswith("p:")
    if kind == ERASE_ITEM:
        if person and not item[2] and state.parent:
            out.forward(state.parent, item)  # a device took touches back: they leave the account too
        return NEVER if _erase(state, item) else None
    if entity.startswith("v:") and kind in ("l", REVOKE_ITEM, SHARED_ITEM, "t"):
        return _device(config, out, state, item)
    if kind in ("l", REVOKE_ITEM):
        parent, old_parent = str(item[1]), state.parent
        if kind == "l":
            ts = float(item[2])  # type: ignore[arg-type]
            if ts <= state.links.get(parent, float("-inf")):
                return None
            moved = state.set_parent(parent, ts)
        else:
            if bool(item[2]) == (parent in state.revoked):
                return None
            moved = state.revoke(parent, bool(item[2]))
        if not moved:
            # A link that is not (or not yet) the latest, or a later time of the current one: it must
            # be stored, or the rule could not fall back to it. Nothing to re-credit.
            return LATER
        _move(state, old_parent, out)
        return NEVER
    if person and kind == "c" and len(item) > 3 and item[3]:
        out.forward(account_key(str(item[3])), item)  # the account its event names
        return None
    if person and state.parent and kind == "t":
        touch = Touchpoint.from_json(item[1])  # type: ignore[arg-type]
        if not state.add(touch, config.windows):
            return None  # redelivered (already forwarded) or too old
        out.forward(state.parent, item)
        return touch.ts
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
                affected = _apply(config, out, entity, state, item)
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
