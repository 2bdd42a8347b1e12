"""'How did you hear about us?' fields of form and CRM webhooks become ``self_reported``."""

from __future__ import annotations

from collector.crm import event_from_crm
from collector.forms import SELF_REPORTED_MAX, events_from_form, self_reported_answer
from schemas.events import CrmStageEvent, FormSubmitEvent, parse_event
from schemas.settings import Settings

FIELDS = tuple(Settings().self_reported_fields)


def test_form_field_names_match_ignoring_case_and_separators() -> None:
    fields = {"email": "ana@acme.com", "How did you hear about us?": "  A podcast\n(episode 4) ", "x": 1}
    submit, identify = events_from_form("demo", fields, None, FIELDS)
    assert submit["self_reported"] == "A podcast (episode 4)"
    assert "How did you hear about us?" not in submit["properties"] and submit["properties"] == {"x": 1}
    event = parse_event(submit)
    assert isinstance(event, FormSubmitEvent) and event.self_reported == "A podcast (episode 4)"
    assert "self_reported" not in identify


def test_first_configured_name_wins_and_empty_answers_are_skipped() -> None:
    fields = {"hdyhau": "", "lead_source_detail": "G2", "self_reported_source": "a friend"}
    assert self_reported_answer(fields, FIELDS) == ("self_reported_source", "a friend")
    assert self_reported_answer({"hdyhau": {"nested": "x"}, "heard_about_us": "x.com"}, FIELDS) == (
        "heard_about_us",
        "x.com",
    )
    assert self_reported_answer({"hdyhau": True}, FIELDS) is None
    assert self_reported_answer({"hdyhau": "podcast"}, ()) is None


def test_no_configured_field_means_no_answer() -> None:
    (submit,) = events_from_form("demo", {"anonymous_id": "a1", "hdyhau": "podcast"}, None)
    assert "self_reported" not in submit and submit["properties"] == {"hdyhau": "podcast"}


def test_long_answers_are_cut_not_rejected() -> None:
    (submit,) = events_from_form("demo", {"anonymous_id": "a1", "hdyhau": "p" * 5000}, None, FIELDS)
    assert len(submit["self_reported"]) == SELF_REPORTED_MAX
    assert parse_event(submit).self_reported == "p" * SELF_REPORTED_MAX  # type: ignore[union-attr]


def test_crm_shapes_carry_the_answer() -> None:
    hubspot = {
        "propertyName": "lifecyclestage", "propertyValue": "lead", "objectId": 7, "occurredAt": 1767225600000,
        "properties": {"email": "ana@acme.com", "how_did_you_hear_about_us": "LinkedIn"},
    }  # fmt: skip
    salesforce = {
        "Id": "006x", "StageName": "Prospecting", "AccountWebsite": "acme.com",
        "LastModifiedDate": "2026-01-01T00:00:00Z", "How_Did_You_Hear__c": "Conference",
    }  # fmt: skip
    native = {"stage": "mql", "account_domain": "acme.com", "ts": 1767225600000, "self_reported": "podcast"}
    got = [event_from_crm(obj, FIELDS) for obj in (hubspot, salesforce, native)]
    assert [e.get("self_reported") for e in got] == ["LinkedIn", "Conference", "podcast"]
    for raw in got:
        event = parse_event(raw)
        assert isinstance(event, CrmStageEvent) and event.self_reported
    assert "self_reported" not in event_from_crm(hubspot)  # no configured names
