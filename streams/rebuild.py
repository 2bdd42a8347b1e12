# ruff: noqa: E501 - fixtures, user agents and SQL clauses read best on one line
"""Re-seed journey state from ClickHouse when the embedded broker's log is new: its changelogs are gone
(a first start or a deleted durable store, or the memory broker).

Run before the workers start (``touchstream up``, embedded broker): it produces, per account, one
``by-account`` message holding the account's touches inside the lookback window and its lead /
opportunity markers; per known person one message with the person's link to its latest account
(``p:<person>`` -> ``a:<account>``) and the person's touches (a person keeps them, to move them when
it moves accounts); and a link per known visitor to its latest person (``v:<anonymous_id>`` ->
``p:<person>``), the routing the live path builds, so the journey stage rebuilds exactly the state
it would have had (through ``device_people`` / ``person_accounts``, so the identity guards and
revocations hold; revoked edges are re-sent as revocations and shared devices flagged, see
docs/identity.md for what a re-seed cannot rebuild). The person's touches reach the account twice (directly and forwarded by the
person, after the account's message): the second copy is a redelivery and changes nothing. The
visitor table of stage 1 is not seeded: a known visitor's next event reaches its account through
its person. Conversions a late touch can still revise come back as hand-over items
(``["h", pending]``, :mod:`streams.revisions`) with their stored revision + 1 and the event ids
their credits name, so the next revision zeroes what left.

Stage 1's ``dedupe`` table (:mod:`streams.dedupe`) is re-seeded too: the event ids of ``touchpoints``
rows the sink inserted within ``TOUCHSTREAM_DEDUPE_DAYS`` go to ``touchstream.events`` in seed envelopes,
keyed as the collector keyed their events (anonymous id, else person, account, event id), so a
replay of an event accepted before the broker log was lost is still dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer

from schemas import jsonio, tables
from schemas.settings import Settings
from sinks.client import connect
from streams.config import StreamTopics
from streams.dedupe import DAY_S, seed_envelope
from streams.enrich import enters_journey
from streams.identity import account_key, person_key, visitor_key
from streams.identity_control import SHARED_ITEM, revocation_commands
from streams.journeys import Conversion, Pending, Touchpoint

__all__ = ["rebuild_state"]

SEED_CHUNK = 5000  # ids per seed envelope: ~50 bytes each, far below the 1 MB broker default


def rebuild_state(
    clickhouse_url: str,
    database: str,
    bootstrap: str,
    settings: Settings,
    topics: StreamTopics | None = None,
) -> int:
    """Produce seed items to ``by-account``; returns how many messages were produced."""
    lookback_days = max(settings.lookback_demand_gen_days, settings.lookback_lead_gen_days)
    topic = (topics or StreamTopics()).by_account
    events_topic = (topics or StreamTopics()).events
    ch = connect(clickhouse_url, database=database)
    # Touches as the live state keeps them: the lookback behind the lateness horizon (= lookback).
    pending_since = datetime.now(UTC) - timedelta(days=lookback_days)
    since = pending_since - timedelta(days=lookback_days)
    rows = ch.execute(
        f"SELECT account_id, event_id, toFloat64(ts), channel, channel_category, utm_campaign, type, "  # noqa: S608
        f"utm_source != '' OR utm_medium != '', url, referrer, is_bot, person_id "
        f"FROM {tables.ACCOUNT_JOURNEYS} WHERE account_id != '' AND ts >= %(since)s ORDER BY account_id, ts",
        {"since": since},
    )
    items: dict[str, list[list[object]]] = {}
    people: dict[str, list[list[object]]] = {}  # p:<person> -> its touches (its link goes first)
    for account, event_id, ts, channel, category, campaign, kind, tagged, url, referrer, bot, person in rows:
        # touchpoints holds every row (internal pages, bots); journeys only what the live path admits.
        # Click ids are not stored, but a click id makes the channel paid, never a direct same-site page.
        if not enters_journey(kind, channel, bot=bool(bot), tagged=bool(tagged), url=url, referrer=referrer):
            continue
        touch = Touchpoint(float(ts), event_id, channel, category, campaign)
        items.setdefault(account_key(account), []).append(["t", touch.to_json()])
        if person:
            people.setdefault(person_key(person), []).append(["t", touch.to_json()])
    markers = ch.execute(
        f"SELECT account_id, stage, toFloat64(min(ts)), argMin(conversion_id, ts) FROM {tables.CONVERSIONS} FINAL "  # noqa: S608
        f"WHERE account_id != '' AND ts >= %(since)s AND stage IN ('lead','mql','sql','opportunity','closed_won') "
        f"GROUP BY account_id, stage",
        {"since": since},
    )
    firsts: dict[str, dict[str, list[object]]] = {}
    for account, stage, ts, conversion_id in markers:
        kinds = ("lead", "opportunity") if stage in ("opportunity", "closed_won") else ("lead",)
        for kind in kinds:
            best = firsts.setdefault(account, {}).get(kind)
            if best is None or (ts, conversion_id) < (best[0], best[1]):
                firsts[account][kind] = [ts, conversion_id]
    for account, marks in firsts.items():
        items.setdefault(account_key(account), []).append(["m", marks.get("lead"), marks.get("opportunity")])
    pending = ch.execute(
        f"SELECT c.account_id, c.conversion_id, toFloat64(c.ts), c.stage, c.person_id, c.amount, c.currency, "  # noqa: S608
        f"c.opportunity_id, c.revision, cr.ids FROM {tables.CONVERSIONS} AS c FINAL LEFT JOIN ("
        f"SELECT conversion_id, groupUniqArray(event_id) AS ids FROM {tables.ATTRIBUTION_CREDITS} FINAL "
        f"WHERE conversion_ts >= %(since)s GROUP BY conversion_id) AS cr ON cr.conversion_id = c.conversion_id "
        f"WHERE c.account_id != '' AND c.ts >= %(since)s ORDER BY c.account_id, c.ts, c.conversion_id",
        {"since": pending_since},
    )
    for account, cid, ts, stage, person, amount, currency, opp, revision, ids in pending:
        conversion = Conversion(cid, float(ts), stage, person, float(amount), currency, opp)
        seed = Pending(conversion, stage == "lead", int(revision) + 1, "", sorted(ids))
        items.setdefault(account_key(account), []).append(["h", seed.to_json()])
    # The same latest-link rules as account_journeys (device -> person, person -> account), through the
    # views that apply the identity guards and revocations (docs/identity.md).
    devices = ch.execute(
        "SELECT d.anonymous_id, d.resolved_person, toFloat64(max(i.updated_at)) FROM device_people AS d "
        "INNER JOIN identities AS i ON i.anonymous_id = d.anonymous_id AND i.person_id = d.resolved_person "
        "WHERE d.resolved_person != '' GROUP BY d.anonymous_id, d.resolved_person"
    )
    employers = ch.execute(
        "SELECT p.person_id, p.resolved_account, toFloat64(max(e.updated_at)) FROM person_accounts AS p "
        "INNER JOIN identity_edges AS e ON e.person_id = p.person_id AND e.account_id = p.resolved_account "
        "WHERE e.anonymous_id = '' AND p.person_id != '' GROUP BY p.person_id, p.resolved_account"
    )
    # Revoked edges and shared devices, so an edge asserted again stays revoked and a shared device's
    # next touches stay on it.
    undone = [
        send
        for kind, child, parent in ch.execute(
            f"SELECT kind, child, parent FROM {tables.IDENTITY_REVOCATIONS} FINAL WHERE revoked = 1"  # noqa: S608
        )
        if kind in ("device", "account")
        for send in revocation_commands(kind, child, parent, True, topics or StreamTopics())
    ]
    shared = [row[0] for row in ch.execute("SELECT anonymous_id FROM shared_devices")]
    # Only people with an account: without one their touches are in no journey of account_journeys.
    linked = {
        person_key(person): [["l", account_key(account), ts], *people.get(person_key(person), [])]
        for person, account, ts in employers
    }
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    sent = 0
    try:
        # Accounts first: a person's forwarded touches then find them already seeded.
        for entity, entity_items in [*items.items(), *linked.items()]:
            producer.send(topic, jsonio.dumps(entity_items), key=entity.encode())
            sent += 1
        for anonymous_id, person, ts in devices:
            producer.send(
                topic, jsonio.dumps([["l", person_key(person), ts]]), key=visitor_key(anonymous_id).encode()
            )
            sent += 1
        for anonymous_id in shared:
            producer.send(topic, jsonio.dumps([[SHARED_ITEM, True]]), key=visitor_key(anonymous_id).encode())
            sent += 1
        for command_topic, command_key, value in undone:
            producer.send(command_topic, value, key=command_key)
            sent += 1
        for key, ids in _seen_ids(ch, settings.dedupe_days):
            for start in range(0, len(ids), SEED_CHUNK):
                producer.send(events_topic, seed_envelope(ids[start : start + SEED_CHUNK]), key=key.encode())
                sent += 1
        producer.flush()
    finally:
        producer.close()
    return sent


def _seen_ids(ch: Any, days: int) -> list[tuple[str, list[tuple[str, int]]]]:
    """(partition key, [(event id, arrival day)]) of the touchpoints inserted within ``days`` days.

    The key is the collector's (``Event.partition_key``) as far as a touchpoint row tells it: its
    stitched person is the event's person id or e-mail, its account the named domain.
    """
    if days <= 0:
        return []
    today = int(datetime.now(UTC).timestamp() // DAY_S)
    rows = ch.execute(
        f"SELECT multiIf(anonymous_id != '', anonymous_id, person_id != '', person_id, account_id != '', account_id, event_id) AS k, "  # noqa: S608
        f"groupUniqArray((event_id, toUInt32(toDate(inserted_at)))) FROM {tables.TOUCHPOINTS} "
        f"WHERE inserted_at >= %(since)s GROUP BY k",
        {"since": datetime.fromtimestamp((today - days) * DAY_S, UTC)},
    )
    return [(key, sorted((str(e), int(d)) for e, d in ids)) for key, ids in rows]
