"""Devices through both stages: shared devices and `identity split` / `relink`, in every arrival order.

Raw events (identifies, page views, CRM conversions naming their account) and device revocations run
through stage 1 (``process_events``) and stage 2 (``process_entities``) in-process, in a generated
arrival order with generated batches and a generated interleaving of the two stages; what a stage
forwards goes to the back of stage 2's queue, as it would on the by-account topic. The answer is then
checked against the rule the SQL views apply to what the stream wrote (touchpoint stamps, identity
rows) — docs/identity.md "How a touch finds its account":

* a device is *shared* when more than ``max_people`` people (not revoked on it) were first identified
  on it within one window; it links to nobody;
* a touch belongs to the person stage 1 stamped it with, unless its device is shared or that
  device -> person edge is revoked; then to the device's latest person not revoked (by event time),
  or to nobody;
* that person's account gets the touch.

A revocation undone (``relink``) leaves every credit as it was.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import jsonio
from schemas.guards import IdentityGuards
from streams.config import StreamConfig
from streams.identity_control import revocation_commands
from streams.journeys import DAY, Conversion, Touchpoint
from streams.stage_enrich import process_events
from streams.stage_journey import process_entities
from tests.unit.streams.test_streams_moving import _final
from tests.unit.streams.test_streams_revisions import Sink, Story, _truth

GUARDS = IdentityGuards(shared_max_people=2, shared_window_s=10 * DAY)
CONFIG = replace(StreamConfig.build(), guards=GUARDS, dedupe_days=0)
T0 = 1_790_000_000.0
HOUR = 3600.0
DEVICES = ("d1", "d2", "d3")
PEOPLE = ("ann@a1.io", "bob@a2.io", "cy@a3.io")
UTMS = ({"source": "google", "medium": "cpc"}, {"source": "news", "medium": "email"})


def _id(n: int) -> str:
    return str(uuid.UUID(int=n + 1))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


@dataclass(frozen=True)
class History:
    events: tuple[bytes, ...]
    commands: tuple[tuple[str, str, bool], ...]  # (device, person, revoked), in the order given

    def command_values(self) -> list[bytes]:
        return [revocation_commands("device", d, p, r, CONFIG.topics)[0][2] for d, p, r in self.commands]


@st.composite
def histories(draw: st.DrawFn) -> History:
    hours = st.integers(0, 15 * 24)
    events: list[dict[str, object]] = []
    for _ in range(draw(st.integers(1, 6))):
        events.append({"type": "identify", "anonymous_id": draw(st.sampled_from(DEVICES)),
                       "email": draw(st.sampled_from(PEOPLE)), "ts": T0 + draw(hours) * HOUR})  # fmt: skip
    for _ in range(draw(st.integers(1, 7))):
        event: dict[str, object] = {"type": "page_view", "anonymous_id": draw(st.sampled_from(DEVICES)),
                                    "ts": T0 + draw(hours) * HOUR + 60, "utm": draw(st.sampled_from(UTMS)),
                                    "context": {"url": "https://site.example/p"}}  # fmt: skip
        if draw(st.booleans()):
            event["email"] = draw(st.sampled_from(PEOPLE))  # a touch that names its person
        events.append(event)
    for person in PEOPLE:
        if draw(st.booleans()):
            events.append({"type": "crm_stage", "account_domain": person.split("@")[1], "stage": "mql",
                           "ts": T0 + draw(hours) * HOUR + 1800})  # fmt: skip
    raw = tuple(
        jsonio.dumps({**e, "event_id": _id(i), "ts": _iso(float(e["ts"]))})  # type: ignore[arg-type]
        for i, e in enumerate(events)
    )
    commands = tuple(
        (draw(st.sampled_from(DEVICES)), draw(st.sampled_from(PEOPLE)), draw(st.booleans()))
        for _ in range(draw(st.integers(0, 3)))
    )
    return History(raw, commands)


@dataclass
class Run:
    sink: Sink
    touches: list[tuple[str, Touchpoint, str]]  # (device, touch, stamp) as stage 1 sent them
    device_rows: list[tuple[str, str, float]]  # (device, person, time) of the identity rows
    conversions: list[tuple[str, Conversion]]  # (account entity, conversion)


def _pipeline(values: list[bytes], sizes: list[int], steps: list[bool]) -> Run:
    """Stage 1 over ``values`` in that order; ``steps`` interleaves stage 1 and stage 2 batches."""
    stage1: dict[str, bytes] = {}
    stage2: dict[str, bytes] = {}
    queue: deque[tuple[bytes, bytes]] = deque()
    run = Run(Sink({}, {}), [], [], [])
    pending = deque(values)
    number = 0

    def write(table: dict[str, bytes], writes: dict[str, tuple[bytes | None, int]]) -> None:
        for key, (state, _) in writes.items():
            if state is None:
                table.pop(key, None)
            else:
                table[key] = state

    def one_stage1() -> None:
        batch = [pending.popleft() for _ in range(min(sizes[number % len(sizes)], len(pending)))]
        out = process_events(CONFIG, batch, stage1.get)
        assert out.dead_letters == 0
        for topic, key, value in out.sends:
            if topic == CONFIG.topics.by_account:
                queue.append((key, value))
                for item in jsonio.loads(value):
                    if item[0] == "t":
                        run.touches.append((key.decode()[2:], Touchpoint.from_json(item[1]), item[2]))
                    elif item[0] == "c":
                        run.conversions.append((key.decode(), Conversion.from_json(item[1])))
            elif topic == CONFIG.topics.identities:
                row = jsonio.loads(value)
                if row["anonymous_id"]:
                    ts = datetime.fromisoformat(row["updated_at"]).timestamp()
                    run.device_rows.append((row["anonymous_id"], row["person_id"], ts))
        write(stage1, out.writes)

    def one_stage2() -> None:
        batch = [queue.popleft() for _ in range(min(sizes[number % len(sizes)], len(queue)))]
        out = process_entities(CONFIG, batch, stage2.get)
        assert out.dead_letters == 0
        for topic, key, value in out.sends:
            if topic == CONFIG.topics.by_account:
                queue.append((key, value))
            else:
                run.sink.take(topic, value)
        write(stage2, out.writes)

    while pending or queue:
        first = steps[number % len(steps)] if steps else True
        if (first and pending) or not queue:
            one_stage1()
        else:
            one_stage2()
        number += 1
    return run


def _rule(run: Run, revoked: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, float]]:
    """What the SQL views say, from what the stream wrote: {(conversion, model): {touch: credit}}."""
    firsts: dict[tuple[str, str], float] = {}
    latest: dict[tuple[str, str], float] = {}
    for device, person, ts in run.device_rows:
        if (device, person) not in revoked:
            firsts[device, person] = min(ts, firsts.get((device, person), ts))
            latest[device, person] = max(ts, latest.get((device, person), ts))
    shared = {d for d in DEVICES if GUARDS.shared([ts for (dd, _), ts in firsts.items() if dd == d])}

    def person_of(device: str, stamp: str) -> str:
        if stamp and device not in shared and (device, stamp) not in revoked:
            return stamp
        if device in shared:
            return ""
        live = [(ts, p) for (d, p), ts in latest.items() if d == device]
        return max(live)[1] if live else ""

    by_account: dict[str, list[tuple[str, Touchpoint]]] = {}
    for device, touch, stamp in run.touches:
        person = person_of(device, stamp)
        if person:
            account = "a:" + person.split("@")[1]
            by_account.setdefault(account, []).append((account, touch))
    expected: dict[tuple[str, str], dict[str, float]] = {}
    for account in {a for a, _ in run.conversions}:
        convs = tuple((account, c, False) for a, c in run.conversions if a == account)
        _, truth = _truth(Story(tuple(by_account.get(account, [])), convs, (), ()))
        expected.update(truth)
    return expected


def _credits(run: Run) -> dict[tuple[str, str], dict[str, float]]:
    got: dict[tuple[str, str], dict[str, float]] = {}
    for (cid, model, event_id), (share, _) in _final(run.sink)[1].items():
        got.setdefault((cid, model), {})[event_id] = share
    return got


def _final_revoked(history: History) -> set[tuple[str, str]]:
    last: dict[tuple[str, str], bool] = {}
    for device, person, revoked in history.commands:
        last[device, person] = revoked
    return {edge for edge, revoked in last.items() if revoked}


def _check(run: Run, revoked: set[tuple[str, str]]) -> None:
    _same(_credits(run), _rule(run, revoked))


def _same(
    got: dict[tuple[str, str], dict[str, float]], expected: dict[tuple[str, str], dict[str, float]]
) -> None:
    assert got.keys() == expected.keys()
    for key, shares in expected.items():
        assert got[key] == pytest.approx(shares), key


@st.composite
def runs(draw: st.DrawFn) -> tuple[History, list[bytes], list[int], list[bool]]:
    history = draw(histories())
    commands = iter(history.command_values())  # the CLI sends them one after the other
    n = len(history.events) + len(history.commands)
    order = draw(st.permutations(range(n)))
    values = [history.events[i] if i < len(history.events) else next(commands) for i in order]
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    steps = draw(st.lists(st.booleans(), max_size=6))
    return history, values, sizes, steps


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_every_arrival_order_gives_the_sql_rule(
    run_: tuple[History, list[bytes], list[int], list[bool]],
) -> None:
    history, values, sizes, steps = run_
    _check(_pipeline(values, sizes, steps), _final_revoked(history))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.data())
def test_split_then_relink_leaves_every_credit_as_it_was(history: History, data: st.DataObject) -> None:
    events = list(data.draw(st.permutations(history.events)))
    device, person = data.draw(st.sampled_from(DEVICES)), data.draw(st.sampled_from(PEOPLE))
    undo = History((), ((device, person, True), (device, person, False))).command_values()
    before = _pipeline(events, [2], [True, False])
    after = _pipeline(events + undo, [2], [True, False])
    _same(_credits(after), _credits(before))


def _identify(n: int, device: str, person: str, ts: float) -> bytes:
    return jsonio.dumps({"event_id": _id(n), "type": "identify", "anonymous_id": device, "email": person,
                         "ts": _iso(ts)})  # fmt: skip


def _view(n: int, device: str, ts: float) -> bytes:
    return jsonio.dumps({"event_id": _id(n), "type": "page_view", "anonymous_id": device, "ts": _iso(ts),
                         "utm": UTMS[0], "context": {"url": "https://site.example/p"}})  # fmt: skip


def _mql(n: int, domain: str, ts: float) -> bytes:
    return jsonio.dumps({"event_id": _id(n), "type": "crm_stage", "account_domain": domain, "stage": "mql",
                         "ts": _iso(ts)})  # fmt: skip


def test_a_third_person_makes_the_device_shared_and_its_touches_anonymous() -> None:
    """Max 2 people: ann and bob share d1 (fine); cy makes it shared, and ann's account loses the view."""
    events = [_identify(0, "d1", PEOPLE[0], T0), _view(1, "d1", T0 + HOUR),
              _identify(2, "d1", PEOPLE[1], T0 + DAY), _mql(3, "a1.io", T0 + 3 * DAY)]  # fmt: skip
    run = _pipeline(events, [1], [True])
    assert {eid for (cid, m), s in _credits(run).items() if m == "linear" for eid in s} == {_id(1)}
    run = _pipeline([*events, _identify(4, "d1", PEOPLE[2], T0 + 2 * DAY)], [1], [True])
    assert _credits(run)[_id(3), "linear"] == {"": 1.0}  # only the (none) row
    _check(run, set())


def test_split_moves_the_touches_back_to_the_earlier_person() -> None:
    events = [_identify(0, "d1", PEOPLE[0], T0), _identify(1, "d1", PEOPLE[1], T0 + HOUR),
              _view(2, "d1", T0 + 2 * HOUR), _mql(3, "a1.io", T0 + DAY),
              _mql(4, "a2.io", T0 + DAY)]  # fmt: skip
    run = _pipeline(events, [1], [True])
    assert _credits(run)[_id(4), "linear"] == {_id(2): 1.0}  # bob's (the latest) account
    split = History((), (("d1", PEOPLE[1], True),)).command_values()
    run = _pipeline(events + split, [1], [True])
    assert _credits(run)[_id(3), "linear"] == {_id(2): 1.0}  # ann's now
    assert _credits(run)[_id(4), "linear"] == {"": 1.0}
    _check(run, {("d1", PEOPLE[1])})
