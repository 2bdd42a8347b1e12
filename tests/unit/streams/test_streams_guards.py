"""Identity guards in stage 1: role addresses never make a person, free-mail domains never an account,
and what a guard held back is logged on ``identity-held`` with its reason (schemas.guards)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas import jsonio
from schemas.guards import IdentityGuards, load_guards
from streams.config import StreamConfig
from streams.stage_enrich import process_events

CONFIG = StreamConfig.build()
EVENT = "00000000-0000-4000-8000-0000000000{:02d}"
DAY = 86_400.0


def _run(event: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
    """(applied identity rows, held rows, the journey items routed) of one event."""
    base = {"event_id": EVENT.format(1), "ts": "2026-03-02T09:00:00Z", "anonymous_id": "d1"}
    out = process_events(CONFIG, [jsonio.dumps({**base, **event})], {}.get)
    rows = lambda topic: [jsonio.loads(v) for t, _, v in out.sends if t == topic]  # noqa: E731
    items = [(k.decode(), jsonio.loads(v)) for t, k, v in out.sends if t == CONFIG.topics.by_account]
    return rows(CONFIG.topics.identities), rows(CONFIG.topics.identity_held), items


FORM = {"type": "form_submit", "form_id": "demo", "form_kind": "demo_request"}


@pytest.mark.parametrize("email", ["sales@acme.example", "Info@acme.example", "no.reply+x@acme.example"])
def test_a_role_address_names_the_account_but_no_person(email: str) -> None:
    applied, held, items = _run({**FORM, "email": email})
    assert applied == []  # no device -> person edge, no person -> account edge
    assert [(h["anonymous_id"], h["person_id"], h["account_id"], h["held"]) for h in held] == [
        ("d1", email.lower(), "acme.example", "role_address")
    ]
    # The device links straight to the account the address names; its conversion rides along.
    [(entity, [link, conversion])] = items
    assert entity == "v:d1" and link[:2] == ["l", "a:acme.example"] and conversion[0] == "c"


def test_a_person_id_with_a_role_address_is_that_person() -> None:
    applied, held, _ = _run({**FORM, "email": "sales@acme.example", "person_id": "crm-42"})
    assert held == []
    assert {r["person_id"] for r in applied} == {"crm-42"}


def test_a_person_address_is_not_a_role_address() -> None:
    applied, held, _ = _run({**FORM, "email": "salesforce.admin.ann@acme.example"})
    assert held == []
    assert {r["person_id"] for r in applied} == {"salesforce.admin.ann@acme.example"}


@pytest.mark.parametrize("domain", ["gmail.com", "GMAIL.com", "mail.yahoo.com"])
def test_a_free_mail_account_domain_defines_no_account(domain: str) -> None:
    applied, held, _ = _run({"type": "identify", "email": "ann@acme.example", "account_domain": domain})
    assert [(h["person_id"], h["account_id"], h["held"]) for h in held] == [
        ("ann@acme.example", domain.lower(), "free_mail_domain")
    ]
    # The e-mail's own company stands in for the account the event could not name.
    assert {r["account_id"] for r in applied} == {"acme.example"}


def test_guards_read_from_the_bundled_file() -> None:
    guards = load_guards()
    assert guards.is_role_address("Sales@X.io") and not guards.is_role_address("ann@x.io")
    assert guards.shared_max_people == 3 and guards.shared_window_s == 30 * DAY
    assert guards.person_max_accounts == 3


def test_shared_needs_more_than_max_people_within_one_window() -> None:
    guards = IdentityGuards(shared_max_people=3, shared_window_s=30 * DAY)
    assert not guards.shared([0, DAY, 2 * DAY])  # three people: a household
    assert guards.shared([0, DAY, 2 * DAY, 29 * DAY])
    assert not guards.shared([0, 40 * DAY, 80 * DAY, 120 * DAY])  # a laptop handed on over months
    assert guards.shared([0, 40 * DAY, 41 * DAY, 42 * DAY, 43 * DAY])
    assert not IdentityGuards(shared_max_people=0).shared([0.0] * 10)  # off
