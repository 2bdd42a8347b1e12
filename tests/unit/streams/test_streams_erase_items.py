"""Erasure commands: what ``forget`` sends, and how both stages apply them to their state."""

from __future__ import annotations

import pytest

from schemas import jsonio
from streams import erasure
from streams.config import StreamConfig
from streams.erasure import control_keys, erasure_commands
from streams.journeys import Touchpoint
from streams.stage_enrich import process_events
from streams.stage_journey import process_entities

CONFIG = StreamConfig.build()
T = CONFIG.topics


def _msg(key: str, *items: list[object]) -> tuple[bytes, bytes]:
    return key.encode(), jsonio.dumps(list(items))


def _touch(eid: str, ts: float) -> list[object]:
    return ["t", Touchpoint(ts, eid, "podcast", "demand_gen").to_json()]


class Journeys(dict[str, bytes | None]):
    def run(self, *batch: tuple[bytes, bytes]):  # type: ignore[no-untyped-def]
        out = process_entities(CONFIG, list(batch), self.get)
        self.update({k: v for k, (v, _) in out.writes.items()})
        return out

    def touches(self, entity: str) -> list[str]:
        return [t[1] for t in jsonio.loads(self[entity] or b"")["t"]]


def test_erase_item_removes_only_the_given_touches_and_keeps_markers() -> None:
    store = Journeys()
    store.run(_msg("a:acme.io", _touch("ann-1", 100.0), _touch("bob-1", 120.0), _touch("ann-2", 140.0)))
    store.run(_msg("a:acme.io", ["m", [150.0, "lead-1"], None, "lead-1"]))
    out = store.run(_msg("a:acme.io", ["x", ["ann-1", "ann-2", "not-here"], False]))
    assert store.touches("a:acme.io") == ["bob-1"]
    state = jsonio.loads(store["a:acme.io"] or b"")
    assert state["l"] == [150.0, "lead-1"]  # the lead marker stays (the old 4th "m" element is ignored)
    assert out.sends == [] and out.dead_letters == 0
    # Nothing of Ann left to erase: the state is not rewritten.
    assert store.run(_msg("a:acme.io", ["x", ["ann-1"], False])).writes == {}


def test_drop_deletes_the_entity_and_is_not_forwarded_to_its_parent() -> None:
    store = Journeys()
    store.run(_msg("v:A", _touch("ann-1", 100.0), ["l", "a:acme.io", 200.0]))
    assert store["v:A"] is not None
    out = store.run(_msg("v:A", ["x", [], True]))
    assert out.writes["v:A"] == (None, 0) and store.get("v:A") is None
    assert out.sends == []  # a linked entity forwards t/c/m to its parent, never an erasure
    # After the drop the visitor starts over: a new touch is buffered, not forwarded to the old parent.
    out = store.run(_msg("v:A", ["x", [], True]), _msg("v:A", _touch("new-1", 300.0)))
    assert out.sends == [] and store.touches("v:A") == ["new-1"]


def test_drop_of_an_unknown_entity_writes_nothing() -> None:
    out = Journeys().run(_msg("p:nobody", ["x", [], True]))
    assert out.writes == {} and out.dead_letters == 0


def _event(eid: str, anon: str, **extra: object) -> bytes:
    body = {"event_id": eid, "type": "page_view", "ts": "2026-03-01T10:00:00Z", "anonymous_id": anon}
    return jsonio.dumps({**body, "context": {"url": "https://northwind.io/"}, **extra})


def test_stage_one_control_envelope_forgets_the_visitor() -> None:
    identity: dict[str, bytes | None] = {}
    ident = "11111111-1111-4111-8111-111111111111"
    first = process_events(CONFIG, [_event(ident, "A", email="ann@acme.io")], identity.get)
    identity.update({k: v for k, (v, _) in first.writes.items()})
    assert identity["v:A"] is not None
    commands = [v for t, k, v in erasure_commands(["A"], [], [], []) if t == T.events]
    later = "22222222-2222-4222-8222-222222222222"
    out = process_events(CONFIG, [*commands, _event(later, "A")], identity.get)
    assert out.dead_letters == 0 and out.writes == {"v:A": (None, 0)}
    # The same batch's next event no longer knows Ann or her account: it is an anonymous visit.
    routed = {k.decode() for t, k, _ in out.sends if t == T.by_account}
    assert routed == {"v:A"}
    touchpoint = next(jsonio.loads(v) for t, _, v in out.sends if t == T.touchpoints)
    assert (touchpoint["person_id"], touchpoint["account_id"]) == ("", "")


def test_malformed_control_envelope_is_dead_lettered() -> None:
    out = process_events(CONFIG, [b'{"$control": "rewind", "keys": []}', b'{"$control": 1'], {}.get)
    assert out.dead_letters == 2 and out.writes == {}
    assert control_keys(b'{"event_id": "x"}') is None
    with pytest.raises(ValueError, match="control envelope"):
        control_keys(b'{"$control":"erase","keys":"v:A"}')


def test_commands_are_keyed_like_the_state_they_erase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(erasure, "CHUNK", 2)
    sends = erasure_commands(["A", "B", ""], ["p1", "ann@acme.io"], ["e3", "e1", "e2"], ["acme.io", ""])
    on_events = {k.decode(): control_keys(v) for t, k, v in sends if t == T.events}
    assert on_events == {"A": ["v:A"], "B": ["v:B"], "p1": ["p:p1"], "ann@acme.io": ["p:ann@acme.io"]}
    on_entities = [(k.decode(), jsonio.loads(v)) for t, k, v in sends if t == T.by_account]
    assert on_entities == [
        ("v:A", [["x", [], True]]),
        ("v:B", [["x", [], True]]),
        ("p:ann@acme.io", [["x", [], True]]),
        ("p:p1", [["x", [], True]]),
        ("a:acme.io", [["x", ["e1", "e2"], False]]),
        ("a:acme.io", [["x", ["e3"], False]]),
    ]
    # No touches known: accounts get no command.
    no_touches = erasure_commands(["A"], [], [], ["acme.io"])
    assert all(t == T.events or k.startswith(b"v:") for t, k, _ in no_touches)
