"""Revoking and restoring identity links: how ``touchstream identity split / unlink / relink`` reach
the stream workers' state (the ClickHouse side is ``identity_revocations``).

A revocation names one edge and travels like an erasure (:mod:`streams.erasure`), keyed like the
state that holds the edge:

* **Device -> person** (``split``): stage 1 keys a device's state by its anonymous id, so the command is
  an internal control envelope on ``touchstream.events`` keyed by that id,
  ``{"$control":"revoke","anonymous_id":A,"person":P,"revoked":true}``. Stage 1 stops routing the
  device's touches to P and tells the device's journey entity (``["r", "p:P", true]`` to ``v:A``),
  which takes its touches back from P and, through P, from P's account.
* **Person -> account** (``unlink``): the person's journey entity holds that link, so the command is a
  journey item ``["r", "a:X", true]`` on ``touchstream.by-account`` keyed ``p:P``; the person's touches
  leave X (its conversions are revised without them) for the person's next-latest account, if any.

``revoked: false`` restores the edge (``relink``): every table and credit returns to where it was.
A revoked edge stays revoked when an event asserts it again; the assertion is still logged.
"""

from __future__ import annotations

from typing import Literal

from schemas import jsonio
from streams.config import StreamTopics
from streams.erasure import REVOKE_PREFIX, Send, produce_commands
from streams.identity import account_key, person_key

__all__ = ["REVOKE_ITEM", "SHARED_ITEM", "parse_revocation", "request_revocation", "revocation_commands"]

REVOKE_ITEM = "r"
SHARED_ITEM = "s"  # ["s", shared]: stage 1 tells a device's journey entity it is (no longer) shared
EdgeKind = Literal["device", "account"]


def parse_revocation(value: bytes) -> tuple[str, str, bool] | None:
    """The (anonymous id, person, revoked) of a revoke envelope; None if ``value`` is none.

    Raises ``ValueError`` for a malformed one.
    """
    if not value.startswith(REVOKE_PREFIX):
        return None
    body = jsonio.loads(value)
    if not isinstance(body, dict):
        raise ValueError("revoke envelope is not an object")
    anon, person, revoked = body.get("anonymous_id"), body.get("person"), body.get("revoked")
    if not isinstance(anon, str) or not anon or not isinstance(person, str) or not person:
        raise ValueError("revoke envelope needs anonymous_id and person")
    if not isinstance(revoked, bool):
        raise ValueError("revoke envelope needs revoked: true | false")
    return anon, person, revoked


def revocation_commands(
    kind: EdgeKind, child: str, parent: str, revoked: bool, topics: StreamTopics | None = None
) -> list[Send]:
    """The command that revokes (or restores) one edge: ``child`` is an anonymous id (device edge)
    or a person id (account edge), ``parent`` a person id or an account domain."""
    t = topics or StreamTopics()
    if not child or not parent:
        raise ValueError("an edge needs both ends")
    if kind == "device":
        body = {"$control": "revoke", "anonymous_id": child, "person": parent, "revoked": revoked}
        return [(t.events, child.encode(), jsonio.dumps(body))]
    if kind == "account":
        item = [REVOKE_ITEM, account_key(parent), revoked]
        return [(t.by_account, person_key(child).encode(), jsonio.dumps([item]))]
    raise ValueError(f"unknown edge kind {kind!r}")


def request_revocation(
    bootstrap: str,
    kind: EdgeKind,
    child: str,
    parent: str,
    revoked: bool,
    topics: StreamTopics | None = None,
    timeout_s: float = 10.0,
) -> None:
    """Produce the command and wait until the broker has it (``ErasureRequestError`` if not)."""
    sends = revocation_commands(kind, child, parent, revoked, topics)
    produce_commands(bootstrap, sends, timeout_s, what="identity")
