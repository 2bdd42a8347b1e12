"""Erasure commands: how ``touchstream forget`` reaches the state the stream workers hold.

Faust tables are written only by their agents, so erasure travels through the stream, keyed like the
state it erases (same key, same partition, same worker):

* Stage 1 (``identity`` table, keyed ``v:<anonymous_id>`` / ``p:<person>``) reads
  ``touchstream.events``, whose contract has no room for commands. An *internal control envelope*
  does: a value starting with :data:`CONTROL_PREFIX`, e.g. ``{"$control":"erase","keys":["v:abc"]}``,
  recognised before event validation (no valid event starts so; nothing but this module sends one;
  the collector re-serializes what it accepts, so clients cannot). The Kafka key is the id itself,
  as the collector keys that visitor's (or person-only) events. Stage 1 deletes the named keys.
* Stage 2 (``journeys`` table, keyed by entity) reads ``touchstream.by-account``, whose items are
  typed lists already: ``["x", event_ids, drop]`` removes those touches from the entity's journey
  (the person's accounts: ``drop`` false, other people's touches and the account's lead / opportunity
  markers stay) or, with ``drop`` true, deletes the entity (the person's ``p:`` / ``v:`` entities).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kafka import KafkaProducer
from kafka.errors import KafkaError

from schemas import jsonio
from streams.config import StreamTopics
from streams.errors import StreamError
from streams.identity import account_key, person_key, visitor_key

__all__ = [
    "CONTROL_PREFIX",
    "ERASE_ITEM",
    "ErasureRequestError",
    "control_keys",
    "erasure_commands",
    "produce_commands",
    "request_erasure",
]

CONTROL_PREFIX = b'{"$control":'
REVOKE_PREFIX = b'{"$control":"revoke"'  # streams.identity_control
ERASE_ITEM = "x"
# Event ids per stage-2 command: ~40 bytes each keeps a message far below the 1 MB broker default.
CHUNK = 5000

Send = tuple[str, bytes, bytes]  # (topic, key, value), as streams.stage_enrich.Send


class ErasureRequestError(StreamError):
    """The erasure commands could not be produced (broker unreachable or refused them)."""


def control_keys(value: bytes) -> list[str] | None:
    """The state keys an erase control envelope names; None if ``value`` is no erase envelope.

    Raises ``ValueError`` for an envelope that is not a well-formed erase command. Other control
    envelopes (``streams.identity_control``) are not erase commands: None.
    """
    if not value.startswith(CONTROL_PREFIX) or value.startswith(REVOKE_PREFIX):
        return None
    body = jsonio.loads(value)
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or body.get("$control") != "erase":
        raise ValueError(f"unknown control envelope {value[:80]!r}")
    return [str(k) for k in keys]


def _control(keys: list[str]) -> bytes:
    return jsonio.dumps({"$control": "erase", "keys": keys})


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, max(len(ids), 1), CHUNK):
        yield list(ids[start : start + CHUNK])


def erasure_commands(
    anonymous_ids: Iterable[str],
    person_ids: Iterable[str],
    event_ids: Iterable[str],
    accounts: Iterable[str],
    topics: StreamTopics | None = None,
) -> list[Send]:
    """Every command that erases these ids from stage 1 and stage 2 state (pure; see module doc).

    ``person_ids`` should hold the person's e-mails too: the workers key a person by ``person_id``,
    else by e-mail.
    """
    t = topics or StreamTopics()
    anons = sorted(set(anonymous_ids) - {""})
    people = sorted(set(person_ids) - {""})
    events = sorted(set(event_ids) - {""})
    sends: list[Send] = []
    for anon in anons:
        sends.append((t.events, anon.encode(), _control([visitor_key(anon)])))
    for person in people:
        sends.append((t.events, person.encode(), _control([person_key(person)])))
    for entity in [*map(visitor_key, anons), *map(person_key, people)]:
        # Dropping the entity removes all its touches: no event ids needed.
        sends.append((t.by_account, entity.encode(), jsonio.dumps([[ERASE_ITEM, [], True]])))
    if events:
        for account in sorted(set(accounts) - {""}):
            key = account_key(account).encode()
            for chunk in _chunks(events):
                sends.append((t.by_account, key, jsonio.dumps([[ERASE_ITEM, chunk, False]])))
    return sends


def request_erasure(
    bootstrap: str,
    anonymous_ids: Iterable[str],
    person_ids: Iterable[str],
    event_ids: Iterable[str],
    accounts: Iterable[str],
    topics: StreamTopics | None = None,
    timeout_s: float = 10.0,
) -> int:
    """Produce the erasure commands and wait for the broker to have them; returns how many."""
    sends = erasure_commands(anonymous_ids, person_ids, event_ids, accounts, topics)
    produce_commands(bootstrap, sends, timeout_s, what="erasure")
    return len(sends)


def produce_commands(bootstrap: str, sends: Sequence[Send], timeout_s: float, *, what: str) -> None:
    """Produce control commands with acks=all and wait for every one; ``ErasureRequestError`` if not."""
    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", request_timeout_ms=int(timeout_s * 1000)
        )
    except KafkaError as exc:
        raise ErasureRequestError(f"broker {bootstrap} unreachable: {exc}") from exc
    try:
        futures = [producer.send(topic, value, key=key) for topic, key, value in sends]
        producer.flush(timeout=timeout_s)
        for future in futures:
            future.get(timeout=timeout_s)
    except KafkaError as exc:
        raise ErasureRequestError(f"{what} commands not accepted by {bootstrap}: {exc}") from exc
    finally:
        producer.close(timeout=timeout_s)
