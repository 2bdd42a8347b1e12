"""Stage 1's identity guards and revocations (issue 18): what may stitch, and when a device is shared.

Applied by :mod:`streams.stage_enrich` per event, before and after stitching: role addresses and free-mail
account domains are held back (logged on ``identity-held``), each device's people are remembered with their
first identification time so the device's journey entity learns when it becomes shared
(:class:`schemas.guards.IdentityGuards`), and `touchstream identity split` / `relink` control envelopes
update the device's revoked people and reach its journey entity (:mod:`streams.identity_control`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from schemas import jsonio
from schemas.events import Event, IdentifyEvent
from streams.config import StreamConfig
from streams.identity import DeviceState, company_domain, person_key, visitor_key
from streams.identity_control import REVOKE_ITEM, SHARED_ITEM
from streams.rows import IdentityRow, encode

if TYPE_CHECKING:
    from streams.stage_enrich import BatchOutput

__all__ = ["guarded", "identified", "revoke", "source_of"]

_SOURCES = {"identify": "identify", "form_submit": "form", "crm_stage": "crm"}


def identified(
    config: StreamConfig, out: BatchOutput, state: DeviceState, anon: str, who: str, ts: float
) -> DeviceState:
    """Remember when the device was first identified as ``who``; tell its journey if that made the
    device shared (schemas.guards)."""
    before = config.guards.shared(state.firsts())
    state = replace(state, people={**state.people, who: ts})
    _tell_shared(config, out, anon, before, state)
    return state


def _tell_shared(config: StreamConfig, out: BatchOutput, anon: str, before: bool, state: DeviceState) -> None:
    after = config.guards.shared(state.firsts())
    if after != before:
        out.forward(visitor_key(anon), [SHARED_ITEM, after])


def revoke(
    config: StreamConfig,
    out: BatchOutput,
    states: dict[str, DeviceState | None],
    load: Callable[[str], bytes | None],
    index: int,
    revocation: tuple[str, str, bool],
) -> None:
    """``touchstream identity split`` / ``relink`` of a device edge (streams.identity_control)."""
    anon, person, revoked = revocation
    key = visitor_key(anon)
    if key not in states:
        stored = load(key)
        states[key] = DeviceState.from_json(jsonio.loads(stored)) if stored else None
    state = states[key] or DeviceState()
    before = config.guards.shared(state.firsts())
    new = replace(state, revoked=state.revoked | {person} if revoked else state.revoked - {person})
    out.forward(key, [REVOKE_ITEM, person_key(person), revoked])
    _tell_shared(config, out, anon, before, new)
    if new != state:
        states[key] = new
        out.writes[key] = (jsonio.dumps(new.to_json()), index)


def guarded(config: StreamConfig, out: BatchOutput, event: Event) -> tuple[str | None, str | None]:
    """The e-mail and account domain stitching may use, after the identity guards (schemas.guards).

    A role address (``sales@``) names its company but never a person; an explicit account domain that
    is a free-mail provider names no account. What a guard held back is logged as a held edge on
    ``identity-held`` (ClickHouse ``identity_edges`` only), so ``identity show`` can say why.
    """
    email, domain = event.email, event.account_domain
    if email and not event.person_id and config.guards.is_role_address(email):
        company = company_domain(email, config.free_domains) or ""
        _hold(config, out, event, event.anonymous_id or "", email, company, email, "role_address")
        domain, email = domain or company or None, None
    if domain and _free(domain, config.free_domains):
        person = event.person_id or email or ""
        _hold(config, out, event, "", person, domain, email or "", "free_mail_domain")
        domain = None
    return email, domain


def _hold(
    config: StreamConfig,
    out: BatchOutput,
    event: Event,
    anon: str,
    person: str,
    account: str,
    email: str,
    reason: str,
) -> None:
    row = IdentityRow(anon, person, account, email, event.ts, str(event.event_id), source_of(event), reason)
    out.sends.append((config.topics.identity_held, person.encode(), encode(row)))


def _free(domain: str, free_domains: frozenset[str]) -> bool:
    parts = domain.lower().removeprefix("www.").split(".")
    return any(".".join(parts[i:]) in free_domains for i in range(len(parts) - 1))


def source_of(event: Event) -> str:
    """What kind of call asserted a link, for the merge log: identify, form, crm, group, alias, ..."""
    if isinstance(event, IdentifyEvent):
        if event.properties.get("alias") is True:  # compat.segment: alias -> identify
            return "alias"
        if "group_id" in event.properties:  # compat.segment: group -> identify naming the account
            return "group"
    return _SOURCES.get(event.type, event.type)
