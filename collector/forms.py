"""Form webhooks (form tools, plain HTML forms) to one ``form_submit`` and one ``identify`` event."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

from collector.ids import stable_id
from collector.pixel import CLICK_ID_KEYS, UTM_KEYS, campaign_fields

__all__ = ["SELF_REPORTED_MAX", "bare_domain", "events_from_form", "self_reported_answer"]

SELF_REPORTED_MAX = 512  # characters of a "How did you hear about us?" answer kept (the contract's limit)
_FIELD_KEY = re.compile(r"[^a-z0-9]")

_IDENTITY = ("email", "person_id", "anonymous_id")
_DOMAIN_KEYS = ("account_domain", "website", "company_domain", "company")
_SUBMISSION_KEYS = ("submission_id", "submissionId", "conversionId", "response_id")
_TAKEN = frozenset(
    {*_IDENTITY, *_DOMAIN_KEYS, *_SUBMISSION_KEYS, "form_kind", "ts", "url", "referrer", "page_url"}
    | {f"utm_{k}" for k in UTM_KEYS}
    | set(CLICK_ID_KEYS)
)


def bare_domain(value: Any) -> Any:
    """``https://www.acme.com/about`` -> ``www.acme.com`` (the contract drops ``www.``); else unchanged."""
    if isinstance(value, str) and "." in value:
        return value.strip().lower().split("://")[-1].split("/")[0].split(":")[0] or value
    return value


def _text(value: Any) -> str:
    """A scalar field as text; objects and arrays count as empty (``str()`` of a caller's deeply
    nested JSON exhausts the recursion limit, and no id or campaign tag is an object)."""
    return "" if isinstance(value, dict | list) else str(value)


def _field_key(name: str) -> str:
    return _FIELD_KEY.sub("", name.lower())


def self_reported_answer(fields: dict[str, Any], names: Iterable[str]) -> tuple[str, str] | None:
    """(field name, answer) of the first non-empty "How did you hear about us?" field, or None.

    ``names`` are matched ignoring case, ``_``, ``-`` and spaces ("How did you hear about us?" is
    ``how_did_you_hear_about_us``); in the order given, so the first configured name present wins. The
    answer is free text, kept up to :data:`SELF_REPORTED_MAX` characters (longer is cut, not rejected)."""
    wanted = [_field_key(n) for n in names]
    if not wanted:
        return None
    present = {_field_key(k): k for k in fields if isinstance(k, str)}
    for key in wanted:
        name = present.get(key)
        if name is None:
            continue
        value = fields[name]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            continue  # an object, array or flag is no answer
        text = " ".join(str(value).split())[:SELF_REPORTED_MAX].strip()
        if text:
            return name, text
    return None


def _domain(fields: dict[str, Any]) -> str | None:
    """account_domain / website / company domain: a bare host, lower-case, no scheme or path."""
    for key in _DOMAIN_KEYS:
        value = fields.get(key)
        if isinstance(value, str) and "." in value:
            return str(bare_domain(value))
    return None


def events_from_form(
    form_id: str, fields: dict[str, Any], cookie_aid: str | None, self_reported_fields: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Two event dicts sharing identity; ids are uuid5 when the tool sends a submission id.

    The first of ``self_reported_fields`` present becomes the submission's ``self_reported``."""
    submission = next((_text(fields[k]) for k in _SUBMISSION_KEYS if fields.get(k)), None)
    ids = (
        (stable_id("form", form_id, submission, "submit"), stable_id("form", form_id, submission, "identify"))
        if submission
        else (str(uuid.uuid4()), str(uuid.uuid4()))
    )
    ts = fields.get("ts") or int(time.time() * 1000)
    who: dict[str, Any] = {k: fields[k] for k in _IDENTITY if fields.get(k)}
    if "anonymous_id" not in who and cookie_aid:
        who["anonymous_id"] = cookie_aid
    domain = _domain(fields)
    if domain:
        who["account_domain"] = domain
    url = fields.get("page_url") or fields.get("url")
    utm, clicks = campaign_fields(
        {k: _text(v) for k, v in fields.items()}, url if isinstance(url, str) else None
    )
    context = {k: v for k, v in (("url", url), ("referrer", fields.get("referrer"))) if v}
    answer = self_reported_answer(fields, self_reported_fields)
    properties = {k: v for k, v in fields.items() if k not in _TAKEN and (answer is None or k != answer[0])}
    submit: dict[str, Any] = {
        "event_id": ids[0],
        "type": "form_submit",
        "ts": ts,
        **who,
        "form_id": form_id,
        "form_kind": fields.get("form_kind") or "other",
        "utm": utm,
        "click_ids": clicks,
        "context": context,
        "properties": properties,
    }
    if answer is not None:
        submit["self_reported"] = answer[1]
    if not (who.get("email") or who.get("person_id")):
        return [submit]  # identify needs an email or person id
    traits = {
        k: v for k, v in properties.items() if k in ("name", "first_name", "last_name", "title", "phone")
    }
    if isinstance(fields.get("company"), str):
        traits["company"] = fields["company"]
    identify = {
        "event_id": ids[1],
        "type": "identify",
        "ts": ts,
        **who,
        "traits": traits,
        "context": dict(context),
    }
    return [submit, identify]
