-- Faster analyst views at 10M touchpoints, with the same answers. The slow views read
-- account_journeys, which resolves every touchpoint (FINAL + two joins, 10M rows) to answer questions
-- about a few thousand accounts. Instead:
--   * first touches are pre-aggregated per raw id triple (anonymous_id, person_id, account_id) and
--     resolved to accounts at query time, so a late identify still re-attributes history;
--   * views about some accounts (influence, rule credits) resolve identities backwards first: their
--     accounts -> people -> devices, then read only those touchpoints, in the period, and resolve them
--     exactly as account_journeys does (the backward sets are a superset filter, never the answer).
-- account_journeys itself is unchanged and stays exact. The views (device_people, person_accounts,
-- account_first_touches and the faster demand_gen_influence, lead_gen_kpis, sales_velocity,
-- funnel_by_first_touch, rule_credits_between, rule_credits) are one file each in sinks/views/; this
-- migration keeps what stores data: touch_devices, its materialized view and the backfill.

-- touch_devices: the first touch (ts, event_id, channel) of each raw id triple, non-bot touchpoints.
-- min() is blind to duplicates, so a redelivered touchpoint needs no FINAL here; rows of one triple
-- from several inserts fold in merges and min() again at query time. One row per device (a few % of
-- the touchpoints). Erasure deletes from it with the touchpoints (sinks/erasure.py).
CREATE TABLE IF NOT EXISTS {db}.touch_devices
(
    anonymous_id String,
    person_id    String,
    account_id   String,
    -- (ts, event_id, channel): min() picks the earliest touch, ties broken by event_id like argMin(channel, (ts, event_id)).
    first_touch  SimpleAggregateFunction(min, Tuple(DateTime64(3, 'UTC'), String, String))
)
ENGINE = AggregatingMergeTree
ORDER BY (anonymous_id, person_id, account_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.touch_devices_mv TO {db}.touch_devices AS
SELECT anonymous_id, person_id, account_id, min((ts, event_id, toString(channel))) AS first_touch
FROM {db}.touchpoints
WHERE NOT is_bot
GROUP BY anonymous_id, person_id, account_id;

-- Backfill what touchpoints already hold; a row inserted meanwhile lands twice, which min() ignores.
INSERT INTO {db}.touch_devices
SELECT anonymous_id, person_id, account_id, min((ts, event_id, toString(channel))) AS first_touch
FROM {db}.touchpoints
WHERE NOT is_bot
GROUP BY anonymous_id, person_id, account_id;
