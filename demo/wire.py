"""Simulated events as the collector requests real senders would make.

Page views go through the tracking pixel (no-JS visitors, crawlers) or the JS tracker's
``/v1/batch``; engagement, mentions and identifies through ``/v1/batch``; forms through the form
webhook; CRM changes as HubSpot-, Salesforce- or native-shaped webhooks (one CRM per account); spend
as one ``/v1/spend`` array per day. A pending batch is flushed before any other request, so requests
stay in simulated-time order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from demo.model import SimEvent
from schemas import jsonio

__all__ = ["DEFAULT_SITE_KEY", "DEFAULT_WRITE_KEY", "Request", "to_requests"]

DEFAULT_WRITE_KEY = "dev-write-key"
DEFAULT_SITE_KEY = "dev-site-key"
_SALESFORCE_STAGE = {
    "lead": "Open - Not Contacted", "mql": "MQL", "sql": "Prospecting", "opportunity": "Qualification",
    "closed_won": "Closed Won", "closed_lost": "Closed Lost",
}  # fmt: skip
_HUBSPOT_STAGE = {
    "lead": "lead", "mql": "marketingqualifiedlead", "sql": "salesqualifiedlead",
    "opportunity": "qualifiedtobuy", "closed_won": "closedwon", "closed_lost": "closedlost",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request to the collector, and what it should turn into there."""

    ts: float  # simulated time of its (last) event, for ordering
    method: str
    path: str
    params: dict[str, str] | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    types: tuple[str, ...] = ()  # contract types of the events the collector makes from it
    event_ids: tuple[str, ...] = ()  # ids the collector keeps as sent ("" where it derives its own)

    @property
    def events(self) -> int:
        return len(self.types)


def _share(key: str) -> float:
    """A stable number in [0, 1) per key: routing must not depend on Python's hash seed."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest()) / 2**64


def _ms(ts: float) -> int:
    return int(ts * 1000)


def _pixel(e: SimEvent, site_key: str) -> Request:
    ev, context = e.event, e.event.get("context", {})
    params = {"k": site_key, "e": "page_view", "aid": ev["anonymous_id"], "eid": ev["event_id"],
              "ts": str(_ms(e.ts)), "url": context.get("url", "")}  # fmt: skip
    if context.get("referrer"):
        params["ref"] = context["referrer"]
    if context.get("title"):
        params["title"] = context["title"]
    headers = {"User-Agent": context.get("user_agent", "")}
    return Request(e.ts, "GET", "/p.gif", params, None, headers, ("page_view",), (ev["event_id"],))


def _form(e: SimEvent, write_key: str) -> Request:
    ev, context = e.event, e.event.get("context", {})
    fields: dict[str, Any] = {
        "email": ev["email"], "anonymous_id": ev["anonymous_id"], "account_domain": ev["account_domain"],
        "company": ev["properties"]["company"], "employees": ev["properties"]["employees"],
        "form_kind": ev["form_kind"], "ts": _ms(e.ts), "submission_id": ev["event_id"],
        "page_url": context.get("url"), "referrer": context.get("referrer"),
        "How did you hear about us?": ev.get("self_reported"),
    }  # fmt: skip
    body = jsonio.dumps({k: v for k, v in fields.items() if v is not None})
    headers = {"Content-Type": "application/json", "X-Write-Key": write_key}
    return Request(
        e.ts, "POST", f"/v1/forms/{ev['form_id']}", None, body, headers, ("form_submit", "identify")
    )


def _crm_object(e: SimEvent) -> dict[str, Any]:
    """The same stage change in the shape of the account's CRM."""
    ev = e.event
    flavor = _share(e.account)
    if flavor < 0.4:
        object_id = int.from_bytes(hashlib.blake2b((ev.get("opportunity_id") or e.account).encode(),
                                                   digest_size=4).digest())  # fmt: skip
        return {
            "subscriptionType": "deal.propertyChange", "objectId": object_id,
            "propertyName": "dealstage", "propertyValue": _HUBSPOT_STAGE[ev["stage"]],
            "occurredAt": _ms(e.ts), "eventId": ev["event_id"],
            "properties": {"amount": str(ev.get("amount", "")), "deal_currency_code": ev.get("currency"),
                           "company_domain": ev["account_domain"], "email": ev["email"],
                           "how_did_you_hear_about_us": ev.get("self_reported")},
        }  # fmt: skip
    if flavor < 0.7:
        opp = ev.get("opportunity_id") or f"lead-{e.account}"
        return {
            "Id": "006" + hashlib.blake2b(opp.encode(), digest_size=6).hexdigest(),
            "StageName": _SALESFORCE_STAGE[ev["stage"]], "Amount": ev.get("amount"),
            "CurrencyIsoCode": ev.get("currency"), "AccountWebsite": ev["account_domain"],
            "ContactEmail": ev["email"], "LastModifiedDate": ev["ts"],
            "How_Did_You_Hear_About_Us": ev.get("self_reported"),
        }  # fmt: skip
    keys = ("stage", "account_domain", "email", "amount", "currency", "event_id", "self_reported")
    native = {k: ev.get(k) for k in keys}
    return {**native, "opportunity_id": ev.get("opportunity_id") or None, "ts": _ms(e.ts)}


def _post(
    ts: float, path: str, payload: Any, types: tuple[str, ...], ids: tuple[str, ...], key: str
) -> Request:
    headers = {"Content-Type": "application/json", "X-Write-Key": key}
    return Request(ts, "POST", path, None, jsonio.dumps(payload), headers, types, ids)


def to_requests(
    events: Iterable[SimEvent],
    pixel_share: float = 0.25,
    batch_size: int = 50,
    write_key: str = DEFAULT_WRITE_KEY,
    site_key: str | None = DEFAULT_SITE_KEY,
) -> Iterator[Request]:
    """Collector requests for ``events`` (already in time order), in the same order.

    ``site_key`` None: no pixel requests (page views, bots' too, go in write-key batches).
    """
    pending: list[SimEvent] = []
    spend_day: list[SimEvent] = []

    def flush_batch() -> Iterator[Request]:
        if pending:
            ev = [e.event for e in pending]
            types = tuple(e["type"] for e in ev)
            yield _post(pending[-1].ts, "/v1/batch", ev, types, tuple(e["event_id"] for e in ev), write_key)
            pending.clear()

    def flush_spend() -> Iterator[Request]:
        if spend_day:
            rows = [
                {k: e.event[k] for k in ("date", "channel", "campaign", "cost", "currency")}
                for e in spend_day
            ]
            yield _post(
                spend_day[-1].ts, "/v1/spend", rows, ("spend",) * len(rows), ("",) * len(rows), write_key
            )
            spend_day.clear()

    for e in events:
        kind = e.event["type"]
        if kind == "spend":
            if spend_day and spend_day[-1].event["date"] != e.event["date"]:
                yield from flush_spend()
            spend_day.append(e)
            continue
        if kind == "page_view" and site_key and (e.is_bot or _share(e.event["event_id"]) < pixel_share):
            request = _pixel(e, site_key)
        elif kind == "form_submit":
            request = _form(e, write_key)
        elif kind == "crm_stage":
            request = _post(e.ts, "/v1/crm", _crm_object(e), ("crm_stage",), ("",), write_key)
        else:
            pending.append(e)
            if len(pending) >= batch_size:
                yield from flush_batch()
            continue
        yield from flush_batch()
        yield from flush_spend()
        yield request
    yield from flush_batch()
    yield from flush_spend()
