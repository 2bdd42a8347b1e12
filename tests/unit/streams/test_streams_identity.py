# ruff: noqa: E501 - fixtures, user agents and SQL clauses read best on one line
"""Identity stitching rules and the journey stage's retroactive / out-of-order merges."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas import jsonio
from streams.config import StreamConfig
from streams.identity import DeviceState, company_domain, stitch
from streams.journeys import Touchpoint
from streams.rules import load_free_email_domains
from streams.stage_journey import process_entities

FREE = load_free_email_domains()
CONFIG = StreamConfig.build()


def test_company_domain_skips_free_mail() -> None:
    assert company_domain("bob@acme.io", FREE) == "acme.io"
    assert company_domain("bob@gmail.com", FREE) is None
    assert company_domain("bob@mail.yahoo.com", FREE) is None
    assert company_domain("no-at-sign", FREE) is None


def test_identify_links_visitor_to_account_and_person_to_account() -> None:
    r = stitch(
        None,
        anonymous_id="A",
        person_id=None,
        email="bob@acme.io",
        account_domain=None,
        ts=10,
        free_domains=FREE,
    )
    # The device links to its person, the person to the account: the person's one link decides.
    assert [(link.child, link.parent) for link in r.links] == [
        ("v:A", "p:bob@acme.io"),
        ("p:bob@acme.io", "a:acme.io"),
    ]
    assert r.route == "v:A" and r.account == "acme.io" and r.named == "acme.io" and r.changed
    again = stitch(
        r.state, anonymous_id="A", person_id=None, email=None, account_domain=None, ts=20, free_domains=FREE
    )
    assert again.links == () and again.route == "p:bob@acme.io" and not again.changed
    assert again.account == "acme.io" and again.named == ""


def test_free_mail_links_person_only() -> None:
    r = stitch(
        None,
        anonymous_id="A",
        person_id=None,
        email="bob@gmail.com",
        account_domain=None,
        ts=1,
        free_domains=FREE,
    )
    assert [(link.child, link.parent) for link in r.links] == [("v:A", "p:bob@gmail.com")]


def test_moving_accounts_later_wins_and_older_does_not_overwrite() -> None:
    s1 = stitch(
        None, anonymous_id="A", person_id="p1", email=None, account_domain="old.io", ts=100, free_domains=FREE
    )
    s2 = stitch(
        s1.state,
        anonymous_id="A",
        person_id="p1",
        email=None,
        account_domain="new.io",
        ts=200,
        free_domains=FREE,
    )
    assert s2.state.account == "new.io"
    late = stitch(
        s2.state,
        anonymous_id="A",
        person_id="p1",
        email=None,
        account_domain="old.io",
        ts=150,
        free_domains=FREE,
    )
    assert late.state == s2.state  # the older identify is announced but does not win
    assert ("p:p1", "a:old.io") in [(link.child, link.parent) for link in late.links]


def _msg(key: str, *items: list[object]) -> tuple[bytes, bytes]:
    return key.encode(), jsonio.dumps(list(items))


def _touch(eid: str, ts: float, channel: str = "podcast") -> list[object]:
    return ["t", Touchpoint(ts, eid, channel, "demand_gen").to_json()]


class Store(dict[str, bytes]):
    def run(self, *batch: tuple[bytes, bytes]):  # type: ignore[no-untyped-def]
        out = process_entities(CONFIG, list(batch), self.get)
        self.update({k: v for k, (v, _) in out.writes.items()})
        return out


def _forwarded(out) -> dict[str, list]:  # type: ignore[no-untyped-def]
    return {k.decode(): jsonio.loads(v) for t, k, v in out.sends if t == CONFIG.topics.by_account}


def test_retroactive_merge_hands_buffered_touches_to_the_account() -> None:
    store = Store()
    store.run(_msg("v:A", _touch("e1", 100.0), _touch("e2", 200.0)))
    out = store.run(_msg("v:A", ["l", "a:acme.io", 300.0], _touch("e3", 300.0)))
    forwarded = _forwarded(out)["a:acme.io"]
    assert [item[1][1] for item in forwarded] == ["e1", "e2", "e3"]  # history first, in order
    account = Store()
    account.run(_msg("a:acme.io", *forwarded))
    state = jsonio.loads(account["a:acme.io"])
    assert [t[1] for t in state["t"]] == ["e1", "e2", "e3"]


def test_out_of_order_link_and_late_touches_land_in_order() -> None:
    store = Store()
    # The link arrives first; a touch older than everything arrives last.
    store.run(_msg("v:A", ["l", "a:acme.io", 500.0]))
    out = store.run(_msg("v:A", _touch("late", 50.0)))
    assert _forwarded(out) == {"a:acme.io": [_touch("late", 50.0)]}
    account = Store()
    account.run(_msg("a:acme.io", _touch("e2", 200.0)))
    account.run(_msg("a:acme.io", _touch("late", 50.0), _touch("e2", 200.0)))  # plus a redelivery
    assert [t[1] for t in jsonio.loads(account["a:acme.io"])["t"]] == ["late", "e2"]


def test_older_link_does_not_replace_a_newer_one() -> None:
    store = Store()
    store.run(_msg("p:bob", ["l", "a:new.io", 200.0]))
    store.run(_msg("p:bob", ["l", "a:old.io", 100.0]))
    assert jsonio.loads(store["p:bob"])["p"] == ["a:new.io", 200.0]


def test_many_devices_one_account() -> None:
    states = [
        stitch(
            None,
            anonymous_id=dev,
            person_id=None,
            email="bob@acme.io",
            account_domain=None,
            ts=1,
            free_domains=FREE,
        )
        for dev in ("laptop", "phone")
    ]
    assert {s.links[0].parent for s in states} == {"p:bob@acme.io"}
    assert {(s.links[1].child, s.links[1].parent) for s in states} == {("p:bob@acme.io", "a:acme.io")}


def test_account_only_identify_moves_the_devices_person() -> None:
    s1 = stitch(
        None, anonymous_id="A", person_id="p1", email=None, account_domain="old.io", ts=1, free_domains=FREE
    )
    s2 = stitch(
        s1.state,
        anonymous_id="A",
        person_id=None,
        email=None,
        account_domain="new.io",
        ts=2,
        free_domains=FREE,
    )
    assert [(link.child, link.parent) for link in s2.links] == [("p:p1", "a:new.io")]
    assert s2.route == "p:p1"
    nobody = stitch(
        None, anonymous_id="B", person_id=None, email=None, account_domain="new.io", ts=2, free_domains=FREE
    )
    assert [(link.child, link.parent) for link in nobody.links] == [("v:B", "a:new.io")]  # no person known


@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(["x.io", "y.io", "z.io"])), min_size=1, max_size=20
    )
)
def test_latest_event_time_wins_in_any_arrival_order(updates: list[tuple[int, str]]) -> None:
    state: DeviceState | None = None
    for ts, domain in updates:
        state = stitch(
            state,
            anonymous_id="A",
            person_id="p",
            email=None,
            account_domain=domain,
            ts=ts,
            free_domains=FREE,
        ).state
    assert state is not None
    latest = max(ts for ts, _ in updates)
    assert state.ts == latest
    assert state.account in {d for ts, d in updates if ts == latest}
