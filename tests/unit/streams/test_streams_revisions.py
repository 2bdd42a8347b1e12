"""Credits converge: whatever the arrival order, batching, redelivery or crash-replay, the latest
revision of every conversion's credits equals the pure ``attribution`` models on the event-time journey.

The by-account topic is simulated: each generated item is one message, delivered in a generated
order and split into generated batches; what a batch forwards (hand-overs after a link) is appended
as later messages; the journey table is a dict written after each batch, unless the batch "crashes"
(its outputs were produced, its state not written) and is replayed. Credit and conversion records
are folded the way ClickHouse does (0007: the highest revision per key wins).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribution import RULE_BASED_MODELS, Touch, credit
from schemas import jsonio
from streams.config import StreamConfig
from streams.credit import CREDITED_STAGES
from streams.journeys import DAY, Conversion, Touchpoint
from streams.stage_journey import process_entities

CONFIG = StreamConfig.build()
T0 = 1_790_000_000.0
ACCOUNT = "a:acme.io"
ENTITIES = ("v:A", "v:B", "p:P", ACCOUNT)
LINKS = (("v:A", "p:P"), ("p:P", ACCOUNT), ("v:B", ACCOUNT))  # two devices, one person, one account
CHANNELS = (
    ("podcast", "demand_gen"),
    ("paid_search", "lead_gen"),
    ("email", "lead_gen"),
    ("video", "demand_gen"),
)
OPPORTUNITY_STAGES = frozenset({"opportunity", "closed_won"})


@dataclass(frozen=True)
class Story:
    touches: tuple[tuple[str, Touchpoint], ...]  # (entity it arrives on, touch)
    conversions: tuple[tuple[str, Conversion, bool], ...]  # (entity, conversion, lead signal)
    links: tuple[tuple[str, str, float], ...]
    erased: tuple[str, ...]  # touch ids `forget` erases from the account once everything arrived

    def messages(self) -> list[tuple[str, list[object]]]:
        out: list[tuple[str, list[object]]] = [(e, ["t", t.to_json()]) for e, t in self.touches]
        out += [(e, ["c", c.to_json(), lead]) for e, c, lead in self.conversions]
        out += [(child, ["l", parent, ts]) for child, parent, ts in self.links]
        return out


@st.composite
def stories(draw: st.DrawFn) -> Story:
    hours = st.integers(0, 20 * 24)
    touches = []
    for i in range(draw(st.integers(0, 6))):
        channel, category = draw(st.sampled_from(CHANNELS))
        ts = T0 + draw(hours) * 3600.0
        touches.append(
            (draw(st.sampled_from(ENTITIES)), Touchpoint(ts, f"t{i}", channel, category, f"c{i % 2}"))
        )
    conversions = []
    # A lead form (on whichever entity its device was at), the CRM's lead stage, later stages.
    for cid, stage, lead, entities in (
        ("form", "lead", True, ENTITIES),
        ("crm-lead", "lead", True, (ACCOUNT,)),
        ("mql", "mql", False, (ACCOUNT,)),
        ("opp", "opportunity", False, (ACCOUNT,)),
        ("won", "closed_won", False, (ACCOUNT,)),
        ("lost", "closed_lost", False, (ACCOUNT,)),
    ):
        if draw(st.booleans()):
            ts = T0 + draw(hours) * 3600.0 + 1800.0  # on the half hour: never tied with a touch
            amount = 5000.0 if stage in OPPORTUNITY_STAGES else 0.0
            conversions.append(
                (draw(st.sampled_from(entities)), Conversion(cid, ts, stage, amount=amount), lead)
            )
    links = tuple((child, parent, T0 + draw(hours) * 3600.0) for child, parent in LINKS)
    ids = [t.event_id for _, t in touches]
    erased = tuple(draw(st.lists(st.sampled_from(ids), max_size=2, unique=True))) if ids else ()
    return Story(tuple(touches), tuple(conversions), links, erased)


def _marked(window: list[Touchpoint], mark: tuple[float, str] | None, until: float) -> str | None:
    """The touch at or just before a lead / opportunity creation mark that is not after the conversion."""
    if mark is None or mark[0] > until:
        return None
    before = [t for t in window if t.ts <= mark[0]]
    return before[-1].event_id if before else None


def _truth(story: Story) -> tuple[dict[str, str], dict[tuple[str, str], dict[str, float]]]:
    """Event-time answer: {conversion: stage} that count, {(conversion, model): {event id: credit}}."""
    windows = CONFIG.windows
    touches = sorted(t for _, t in story.touches if t.event_id not in story.erased)
    credited = [(c, lead) for _, c, lead in story.conversions if c.stage in CREDITED_STAGES]
    lead_mark = min(((c.ts, c.event_id) for c, _ in credited), default=None)
    opp_mark = min(((c.ts, c.event_id) for c, _ in credited if c.stage in OPPORTUNITY_STAGES), default=None)
    stages: dict[str, str] = {}
    credits: dict[tuple[str, str], dict[str, float]] = {}
    for _, conv, lead in story.conversions:
        if lead and (conv.ts, conv.event_id) != lead_mark:
            continue  # a later lead signal of the same lead
        stages[conv.event_id] = conv.stage
        if conv.stage not in CREDITED_STAGES:
            continue
        window = [t for t in touches if conv.ts - windows.lookback(t.category) <= t.ts <= conv.ts]

        lead_touch, opp_touch = _marked(window, lead_mark, conv.ts), _marked(window, opp_mark, conv.ts)
        journey = [
            Touch(
                t.event_id,
                t.ts,
                t.channel,
                t.campaign,
                t.category,
                t.event_id == lead_touch,
                t.event_id == opp_touch,
            )
            for t in window
        ]
        for model in RULE_BASED_MODELS:
            shares: dict[str, float] = {}
            for touch, share in credit(
                model, journey, conversion_ts=conv.ts, half_life_days=CONFIG.half_life_days
            ):
                if share > 0:
                    shares[touch.event_id] = shares.get(touch.event_id, 0.0) + share
            credits[(conv.event_id, model)] = shares or {"": 1.0}  # no touch: the (none) row
    return stages, credits


@dataclass
class Sink:
    """ClickHouse's ReplacingMergeTree(revision): the highest revision per key; equal revisions must agree."""

    credits: dict[tuple[str, str, str], tuple[int, float, str]]
    conversions: dict[str, tuple[int, bool, str]]

    def take(self, topic: str, value: bytes) -> None:
        row = jsonio.loads(value)
        if topic == CONFIG.topics.credits:
            key = (row["conversion_id"], row["model"], row["event_id"])
            new = (row["revision"], row["credit"], row["account_id"])
            self._keep(self.credits, key, new)
        elif topic == CONFIG.topics.conversions:
            self._keep(
                self.conversions, row["conversion_id"], (row["revision"], row["deleted"], row["account_id"])
            )

    @staticmethod
    def _keep(table: dict, key: object, new: tuple) -> None:  # type: ignore[type-arg]
        old = table.get(key)
        if old is not None and old[0] == new[0]:
            assert old == pytest.approx(new), f"revision {new[0]} of {key} emitted with two contents"
        if old is None or new[0] > old[0]:
            table[key] = new


def _run(story: Story, order: list[int], sizes: list[int], crashes: set[int], duplicates: list[int]) -> Sink:
    base = story.messages()
    raw = [base[i] for i in order] + [base[i] for i in duplicates]  # duplicates: redelivered copies
    queue: deque[tuple[bytes, bytes]] = deque((e.encode(), jsonio.dumps([item])) for e, item in raw)
    table: dict[str, bytes] = {}
    sink = Sink({}, {})
    number = 0

    def batch(messages: list[tuple[bytes, bytes]], write: bool) -> None:
        out = process_entities(CONFIG, messages, table.get)
        assert out.dead_letters == 0
        for topic, key, value in out.sends:
            if topic == CONFIG.topics.by_account:
                queue.append((key, value))  # forwarded: a later message on the by-account topic
            else:
                sink.take(topic, value)
        if write:
            for entity, (state, _) in out.writes.items():
                if state is None:
                    table.pop(entity, None)
                else:
                    table[entity] = state

    def drain() -> None:
        nonlocal number
        while queue:
            size = sizes[number % len(sizes)] if sizes else 1
            messages = [queue.popleft() for _ in range(min(size, len(queue)))]
            if number in crashes:  # outputs produced, state not written: the batch is replayed
                batch(messages, write=False)
            batch(messages, write=True)
            number += 1

    drain()
    if story.erased:
        queue.append((ACCOUNT.encode(), jsonio.dumps([["x", list(story.erased), False]])))
        drain()
    return sink


def _check(story: Story, sink: Sink) -> None:
    stages, credits = _truth(story)
    live = {cid: account for cid, (_, deleted, account) in sink.conversions.items() if not deleted}
    assert set(live) == set(stages)
    assert set(live.values()) <= {"acme.io"}  # every conversion ended on the account
    got: dict[tuple[str, str], dict[str, float]] = {}
    for (cid, model, event_id), (_, share, account) in sink.credits.items():
        if share != 0:
            assert cid in live and account == "acme.io", (cid, model, event_id)
            got.setdefault((cid, model), {})[event_id] = share
    assert got.keys() == credits.keys()
    for key, shares in credits.items():
        assert got[key] == pytest.approx(shares), key


@st.composite
def runs(draw: st.DrawFn) -> tuple[Story, list[int], list[int], set[int], list[int]]:
    story = draw(stories())
    n = len(story.messages())
    order = draw(st.permutations(range(n)))
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    crashes = draw(st.sets(st.integers(0, 12), max_size=2))
    duplicates = draw(st.lists(st.integers(0, n - 1), max_size=2)) if n else []
    return story, list(order), sizes, crashes, duplicates


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_latest_revisions_equal_the_event_time_answer(
    run: tuple[Story, list[int], list[int], set[int], list[int]],
) -> None:
    story, order, sizes, crashes, duplicates = run
    _check(story, _run(story, order, sizes, crashes, duplicates))


def test_the_issue_story_late_touches_after_both_conversions() -> None:
    """Issue 15: the form and the opportunity reach the account before the devices' touches."""
    t = [
        ("v:A", Touchpoint(T0, "li-post", "organic_social", "demand_gen")),
        ("v:A", Touchpoint(T0 + 60, "podcast", "podcast", "demand_gen")),
        ("v:B", Touchpoint(T0 + 120, "organic", "organic_search", "lead_gen")),
        ("v:B", Touchpoint(T0 + 180, "paid", "paid_search", "lead_gen")),
    ]
    story = Story(
        touches=tuple(t),
        conversions=(
            (ACCOUNT, Conversion("demo-form", T0 + 600, "lead"), True),
            (ACCOUNT, Conversion("opp", T0 + 605, "opportunity", amount=1000.0), False),
        ),
        links=(("v:A", ACCOUNT, T0 + 300), ("v:B", ACCOUNT, T0 + 301)),
        erased=(),
    )
    conversions_first = [4, 5, 0, 1, 2, 3, 6, 7]  # both conversions, then the touches, then the links
    sink = _run(story, conversions_first, [len(conversions_first)], set(), [])
    _check(story, sink)
    linear = {e: c for (cid, m, e), (_, c, _) in sink.credits.items() if cid == "opp" and m == "linear" and c}
    assert linear == pytest.approx({"li-post": 0.25, "podcast": 0.25, "organic": 0.25, "paid": 0.25})
    assert sink.credits[("opp", "linear", "")][1] == 0.0  # the first revision's (none) row, zeroed


def test_a_redelivered_touch_makes_no_new_revision() -> None:
    touch = ["t", Touchpoint(T0, "t1", "podcast", "demand_gen").to_json()]
    conv = ["c", Conversion("mql", T0 + 60, "mql").to_json(), False]
    table: dict[str, bytes] = {}
    revisions = []
    for items in ([conv], [touch], [touch], [conv]):
        out = process_entities(CONFIG, [(ACCOUNT.encode(), jsonio.dumps(items))], table.get)
        table.update({k: v for k, (v, _) in out.writes.items() if v is not None})
        revisions += [
            jsonio.loads(v)["revision"] for tp, _, v in out.sends if tp == CONFIG.topics.conversions
        ]
    assert revisions == [1, 2]  # (none), then the touch; the redelivered touch and conversion: nothing


def test_replaying_a_batch_with_other_boundaries_reproduces_each_revision() -> None:
    items = [
        ["c", Conversion("opp", T0 + 10 * DAY, "opportunity", amount=10.0).to_json(), False],
        *(["t", Touchpoint(T0 + i * DAY, f"t{i}", "email", "lead_gen").to_json()] for i in range(4)),
    ]
    messages = [(ACCOUNT.encode(), jsonio.dumps([item])) for item in items]

    def rows(batches: list[list[tuple[bytes, bytes]]]) -> dict[int, list[bytes]]:
        table: dict[str, bytes] = {}
        by_revision: dict[int, list[bytes]] = {}
        for batch in batches:
            out = process_entities(CONFIG, batch, table.get)
            table.update({k: v for k, (v, _) in out.writes.items() if v is not None})
            for topic, _, value in out.sends:
                if topic == CONFIG.topics.credits:
                    by_revision.setdefault(jsonio.loads(value)["revision"], []).append(value)
        return by_revision

    whole = rows([messages])
    split = rows([messages[:2], messages[2:4], messages[4:]])
    assert list(whole) == [5]  # one revision per real change: the conversion and four touches
    assert whole[5] == split[5]  # the same revision number carries the same rows


def test_pending_state_round_trips_with_wide_masks() -> None:
    from streams.journeys import Pending

    seen = [f"e{i}" for i in range(100)]
    pending = Pending(Conversion("c1", T0, "mql"), False, 7, "abc", seen, {"first": 1 << 99 | 1, "linear": 0})
    again = Pending.from_json(jsonio.loads(jsonio.dumps(pending.to_json())))  # > 64 bits: hex text
    assert again == pending
    assert again.earlier() == {"first": ["e0", "e99"], "linear": []}
