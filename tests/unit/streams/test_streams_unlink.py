"""Revoking a person's account link (``touchstream identity unlink`` / ``relink``) in stage 2.

The stories of ``test_streams_moving`` (one person on two devices linking to accounts over time) plus
revoke / restore commands for some of the person's account links. The commands reach the person's
entity in the order they were given (one key, one partition) but anywhere among the other messages.
Every arrival order must end with the credits of the in-order run, and those must be the rule's answer
with the revoked links left out: the person's touches belong to the latest link not revoked, or to no
account when every link is revoked. An unlink followed by a relink leaves the credits as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.journeys import JourneyState, Touchpoint
from tests.unit.streams.test_streams_moving import (
    HOUR,
    PERSON,
    T0,
    Message,
    Moves,
    _check_rule,
    _deliver,
    _final,
    _same,
    moves,
)


@dataclass(frozen=True)
class Unlinks:
    story: Moves
    commands: tuple[tuple[str, bool], ...] = field(default=())  # (account, revoked), in command order

    def revoked(self) -> set[str]:
        last: dict[str, bool] = {}
        for account, revoked in self.commands:
            last[account] = revoked
        return {account for account, revoked in last.items() if revoked}

    def messages(self) -> list[Message]:
        return [(PERSON, ["r", account, revoked]) for account, revoked in self.commands]

    def as_moves(self) -> Moves:
        """The story the rule sees: the revoked links were never made."""
        revoked = self.revoked()
        links = tuple((a, ts) for a, ts in self.story.person_links if a not in revoked)
        return Moves(links, self.story.device_links, self.story.touches, self.story.conversions)


def _in_order(case: Unlinks) -> list[Message]:
    # Commands have no event time: given after everything else happened.
    return sorted(case.story.messages(), key=case.story.event_time) + case.messages()


def _check(case: Unlinks, messages: list[Message]) -> None:
    sink = _deliver(messages, [1], set(), eager=True)
    rule = case.as_moves()
    if rule.person_links:
        _check_rule(rule, sink)
    else:
        _check_unlinked(rule, sink)


def _check_unlinked(story: Moves, sink: object) -> None:
    """Every link revoked: no account gets the person's touches."""
    _, credits = _final(sink)  # type: ignore[arg-type]
    mine = {t.event_id for entity, t in story.touches if entity not in {a for _, a, _ in story.conversions}}
    own = {t.event_id for entity, t in story.touches if entity.startswith("a:")}
    credited = {event_id for (_, _, event_id) in credits}
    assert not (credited & (mine - own))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Unlinks, list[int], list[int], set[int]]:
    story = draw(moves())
    accounts = sorted({a for a, _ in story.person_links})
    commands = tuple(
        (draw(st.sampled_from(accounts)), draw(st.booleans())) for _ in range(draw(st.integers(1, 3)))
    )
    case = Unlinks(story, commands)
    n = len(story.messages()) + len(commands)
    order = list(draw(st.permutations(range(n))))
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    crashes = draw(st.sets(st.integers(0, 12), max_size=2))
    return case, order, sizes, crashes


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_arrival_order_ends_with_the_rule_without_the_revoked_links(
    run: tuple[Unlinks, list[int], list[int], set[int]],
) -> None:
    case, order, sizes, crashes = run
    reference_messages = _in_order(case)
    _check(case, reference_messages)
    reference = _deliver(reference_messages, [1], set(), eager=True)
    base = case.story.messages()
    commands = iter(case.messages())  # commands keep their own order wherever they land
    shuffled = [base[i] if i < len(base) else next(commands) for i in order]
    _same(_deliver(shuffled, sizes, crashes), reference)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(moves(), st.data())
def test_unlink_then_relink_leaves_the_credits_as_they_were(story: Moves, data: st.DataObject) -> None:
    account = data.draw(st.sampled_from(sorted({a for a, _ in story.person_links})))
    before = _deliver(sorted(story.messages(), key=story.event_time), [1], set(), eager=True)
    undone = Unlinks(story, ((account, True), (account, False)))
    after = _deliver(_in_order(undone), [1], set(), eager=True)
    _same(after, before)


def test_revoking_the_current_account_falls_back_to_the_previous_one() -> None:
    state = JourneyState()
    assert state.set_parent("a:old.io", T0)
    assert state.set_parent("a:new.io", T0 + HOUR)
    assert state.revoke("a:new.io", True) and state.parent == "a:old.io"
    assert not state.set_parent("a:new.io", T0 + 2 * HOUR)  # asserted again: stays revoked
    assert state.parent == "a:old.io"
    assert state.revoke("a:new.io", False) and state.parent == "a:new.io"
    assert state.parent_ts == T0 + 2 * HOUR  # the later assertion was kept while revoked
    assert state.revoke("a:new.io", True) and state.revoke("a:old.io", True) and state.parent == ""


def test_state_written_before_links_were_kept_still_reads() -> None:
    old = {"t": [Touchpoint(T0, "t0", "email", "lead_gen").to_json()], "p": ["a:x.io", T0], "w": T0}
    state = JourneyState.from_json(old)  # type: ignore[arg-type]
    assert state.parent == "a:x.io" and state.links == {"a:x.io": T0}
    assert JourneyState.from_json(state.to_json()) == state


@pytest.mark.parametrize("revoked", [True, False])
def test_a_command_that_changes_nothing_writes_nothing(revoked: bool) -> None:
    from schemas import jsonio
    from streams.config import StreamConfig
    from streams.stage_journey import process_entities

    config = StreamConfig.build()
    table: dict[str, bytes] = {}
    out = process_entities(config, [(b"p:P", jsonio.dumps([["l", "a:x.io", T0]]))], table.get)
    table.update({k: v for k, (v, _) in out.writes.items() if v is not None})
    out = process_entities(config, [(b"p:P", jsonio.dumps([["r", "a:x.io", False]]))], table.get)
    assert not out.writes
    out = process_entities(config, [(b"p:P", jsonio.dumps([["r", "a:x.io", revoked]]))], table.get)
    assert bool(out.writes) == revoked
