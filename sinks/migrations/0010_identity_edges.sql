-- The merge log (issue 18): every identity link the stream announced, with the event that asserted it
-- and its source, kept as history. `identities` keeps only the latest row per (person_id, anonymous_id)
-- (ReplacingMergeTree(updated_at)), which is all the resolution views need; identity_edges keeps every
-- assertion so `touchstream identity show / why` can say which event joined two ids and when.
--   * identities.event_id / source: the event that asserted the link and its kind (identify, form,
--     crm, group, alias — compat's Segment group / alias calls arrive as identify — or the event
--     type). '' on rows written before this migration or by older workers.
--   * identity_edges: one row per (link, event). A row with anonymous_id != '' is a device -> person
--     edge (account_id is the account the event knew, context only); anonymous_id = '' is a person ->
--     account edge. Fed from identities by a materialized view, so the sink writes one table and every
--     inserted identities row is also appended here. ReplacingMergeTree without version on
--     (person_id, anonymous_id, account_id, updated_at, event_id): a redelivered record replaces
--     itself; read with FINAL. The latest edge per child (device, person) by (updated_at, parent) is
--     the current link, the same rule as device_people / person_accounts (ties: the larger key, as
--     the stream decides them).
--   * Backfill: the identities rows present now (their latest rows only; older history was merged
--     away) with event_id / source ''.
-- Erasure (`touchstream forget`) deletes the person's rows here too (sinks/erasure.py).
ALTER TABLE {db}.identities
    ADD COLUMN IF NOT EXISTS event_id String DEFAULT '',
    ADD COLUMN IF NOT EXISTS source LowCardinality(String) DEFAULT '';

CREATE TABLE IF NOT EXISTS {db}.identity_edges
(
    anonymous_id String,
    person_id    String,
    account_id   String,
    email        String,
    updated_at   DateTime64(3, 'UTC'),
    event_id     String,
    source       LowCardinality(String),
    inserted_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (person_id, anonymous_id, account_id, updated_at, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.identity_edges_mv TO {db}.identity_edges AS
SELECT anonymous_id, person_id, account_id, email, updated_at, event_id, source
FROM {db}.identities;

INSERT INTO {db}.identity_edges (anonymous_id, person_id, account_id, email, updated_at, event_id, source)
SELECT anonymous_id, person_id, account_id, email, updated_at, event_id, source
FROM {db}.identities;
