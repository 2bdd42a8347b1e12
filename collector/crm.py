"""CRM stage changes (HubSpot-like, Salesforce-like, native) to ``crm_stage`` event dicts.

Stage names are looked up after lower-casing and dropping everything but letters and digits, so
"Closed Won", "closedwon" and "closed_won" are one key. Event ids are uuid5 over source, object id,
stage and timestamp: a CRM retrying its webhook produces the same event, which is counted once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from collector.forms import SELF_REPORTED_MAX, bare_domain, self_reported_answer
from collector.ids import stable_id
from schemas.errors import FieldError

__all__ = ["STAGE_MAP", "UnknownShapeError", "event_from_crm", "normalise_stage"]

# CRM stage name -> contract stage. Documented in docs/collector.md; extend here, not in callers.
STAGE_MAP: dict[str, str] = {
    # native contract names
    "lead": "lead", "mql": "mql", "sql": "sql", "opportunity": "opportunity",
    "closedwon": "closed_won", "closedlost": "closed_lost",
    # HubSpot lifecycle stages (propertyName=lifecyclestage)
    "subscriber": "lead", "marketingqualifiedlead": "mql", "salesqualifiedlead": "sql",
    "customer": "closed_won",
    # HubSpot default deal pipeline (propertyName=dealstage)
    "appointmentscheduled": "sql", "qualifiedtobuy": "opportunity", "presentationscheduled": "opportunity",
    "decisionmakerboughtin": "opportunity", "contractsent": "opportunity",
    # Salesforce lead status and opportunity StageName picklist
    "opennotcontacted": "lead", "workingcontacted": "lead", "closedconverted": "sql",
    "closednotconverted": "closed_lost", "prospecting": "sql", "qualification": "opportunity",
    "needsanalysis": "opportunity", "valueproposition": "opportunity", "iddecisionmakers": "opportunity",
    "perceptionanalysis": "opportunity", "proposalpricequote": "opportunity",
    "negotiationreview": "opportunity",
}  # fmt: skip


class UnknownShapeError(ValueError):
    """The object is none of the three CRM shapes (or names a stage we cannot map)."""

    def __init__(self, error: FieldError) -> None:
        self.error = error
        super().__init__(error.reason)


def normalise_stage(name: object) -> str:
    key = re.sub(r"[^a-z0-9]", "", name.lower()) if isinstance(name, str) else ""
    if key not in STAGE_MAP:
        raise UnknownShapeError(FieldError("stage", "unknown CRM stage; see the stage mapping table"))
    return STAGE_MAP[key]


_NATIVE_FIELDS = (
    "account_domain", "email", "person_id", "amount", "currency", "opportunity_id", "event_id",
    "anonymous_id", "properties", "self_reported",
)  # fmt: skip


def _amount(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return value  # validation names the field
    return value


def _nested(value: Any) -> bool:
    return isinstance(value, dict | list)


def _text(value: Any) -> str:
    """A scalar as text; never ``str()`` of a caller's object (deep nesting exhausts the stack)."""
    return "" if _nested(value) else str(value)


def _sub(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _ts_key(ts: Any) -> str:
    if isinstance(ts, str) and not ts.isdigit():
        try:
            return datetime.fromisoformat(ts.replace("Z", "+00:00")).isoformat()
        except ValueError:
            return ts
    return _text(ts)  # an object or array is no time: validation rejects the event


def _event(source: str, object_id: Any, stage: str, ts: Any, fields: dict[str, Any]) -> dict[str, Any]:
    raw = {k: v for k, v in fields.items() if v is not None and v != ""}
    raw.update(type="crm_stage", stage=stage, ts=ts)
    raw.setdefault("event_id", stable_id(source, object_id, stage, _ts_key(ts)))
    return raw


def _hubspot(obj: dict[str, Any]) -> dict[str, Any]:
    props = _sub(obj, "properties")
    stage = normalise_stage(obj.get("propertyValue"))
    ts = obj.get("occurredAt") or int(time.time() * 1000)
    object_id = obj.get("objectId")
    fields = {
        # an object id that is an object stays one, so validation names opportunity_id
        "opportunity_id": object_id if object_id is None or _nested(object_id) else str(object_id),
        "amount": _amount(props.get("amount")),
        "currency": props.get("deal_currency_code") or props.get("currency"),
        "account_domain": bare_domain(props.get("company_domain") or props.get("domain")),
        "email": props.get("email"),
        "properties": {"crm": "hubspot", "property": _text(obj.get("propertyName", ""))},
    }
    return _event("hubspot", object_id, stage, ts, fields)


def _salesforce(obj: dict[str, Any]) -> dict[str, Any]:
    account = _sub(obj, "Account")
    stage = normalise_stage(obj.get("StageName"))
    ts = obj.get("LastModifiedDate") or int(time.time() * 1000)
    fields = {
        "opportunity_id": obj.get("Id"),
        "amount": _amount(obj.get("Amount")),
        "currency": obj.get("CurrencyIsoCode"),
        "account_domain": bare_domain(obj.get("AccountWebsite") or account.get("Website")),
        "email": obj.get("ContactEmail"),
        "properties": {"crm": "salesforce"},
    }
    return _event("salesforce", obj.get("Id"), stage, ts, fields)


def _native(obj: dict[str, Any]) -> dict[str, Any]:
    stage = normalise_stage(obj.get("stage"))
    ts = obj.get("ts") or int(time.time() * 1000)
    who = obj.get("opportunity_id") or obj.get("account_domain") or obj.get("person_id") or obj.get("email")
    fields = {k: obj.get(k) for k in _NATIVE_FIELDS}
    fields["amount"] = _amount(fields["amount"])
    fields["account_domain"] = bare_domain(fields["account_domain"])
    return _event("native", who, stage, ts, fields)


def _with_answer(event: dict[str, Any], fields: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """``self_reported`` from the first configured field present (HubSpot: in ``properties``)."""
    answer = self_reported_answer(fields, names)
    if answer is not None:
        event["self_reported"] = answer[1]
    elif isinstance(event.get("self_reported"), str):
        event["self_reported"] = event["self_reported"][:SELF_REPORTED_MAX]
    return event


def event_from_crm(obj: Any, self_reported_fields: Iterable[str] = ()) -> dict[str, Any]:
    """One ``crm_stage`` event dict from a HubSpot, Salesforce or native object.

    ``self_reported_fields``: field names holding "How did you hear about us?" (HubSpot: contact or
    deal properties; Salesforce and native: fields of the object)."""
    if not isinstance(obj, dict):
        raise UnknownShapeError(FieldError("$", "a CRM change must be a JSON object"))
    names = tuple(self_reported_fields)
    if "propertyValue" in obj:
        return _with_answer(_hubspot(obj), _sub(obj, "properties"), names)
    if "StageName" in obj:
        return _with_answer(_salesforce(obj), obj, names)
    if "stage" in obj:
        return _with_answer(_native(obj), obj, names)
    raise UnknownShapeError(FieldError("stage", "no stage: expected propertyValue, StageName or stage"))
