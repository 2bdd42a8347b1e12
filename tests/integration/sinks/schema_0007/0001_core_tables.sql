-- Core tables from CONTRACT.md. Every fact table is a ReplacingMergeTree keyed so that a redelivered
-- row (same event / conversion id) collapses into one; analysts read through FINAL or the views.
-- Two layers of exactly-once effect:
--   1. the sink sends each batch with an insert_deduplication_token made of its topic/partition/offset
--      ranges, so a retried batch (first attempt landed, answer lost) is dropped by the server. A
--      non-replicated MergeTree only remembers tokens when non_replicated_deduplication_window > 0,
--      hence that setting on every table the sink writes;
--   2. a batch re-read after a crash has different boundaries (hence another token); its rows share the
--      sorting key of the first copy, and FINAL / argMax in the views keep one of them.
-- Every column in a sorting key is a property of the event itself (id, time), never something
-- derived later (channel, account), so two deliveries of one event always share the key.
-- Raw touchpoint retention: TOUCHSTREAM_TOUCHPOINTS_TTL_DAYS, applied with ALTER ... MODIFY TTL by
-- sinks.migrate.apply_retention (no TTL here: a literal would bake one policy into the schema).

-- Touchpoints: partitioned by month so TTL and time-range scans drop whole parts; ordered by day then
-- event_id because a redelivered touchpoint repeats both (same event => same ts), which is what the
-- replacing merge needs, while day-first keeps period queries to a key range.
CREATE TABLE IF NOT EXISTS {db}.touchpoints
(
    event_id          String,
    ts                DateTime64(3, 'UTC'),
    anonymous_id      String,
    person_id         String,
    account_id        String,
    type              LowCardinality(String),
    channel           LowCardinality(String),
    channel_category  LowCardinality(String),
    engagement_kind   LowCardinality(String),
    utm_source        String,
    utm_medium        String,
    utm_campaign      String,
    utm_content       String,
    utm_term          String,
    url               String,
    referrer          String,
    country           LowCardinality(String),
    source            LowCardinality(String),
    is_bot            Bool,
    is_branded_search Bool,
    -- Type-specific detail the KPI views need (empty / 0 for other types): engagement duration,
    -- form kind (gated content), mentions (brand, competitor flag, reach).
    duration_s        Float64 DEFAULT 0,
    form_kind         LowCardinality(String) DEFAULT '',
    brand             String DEFAULT '',
    is_competitor     Bool DEFAULT false,
    reach             UInt64 DEFAULT 0,
    received_at       DateTime64(3, 'UTC'),
    inserted_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(ts)
ORDER BY (toDate(ts), event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Identity links. Two shapes of row: anonymous_id -> person (a device seen as someone) and
-- person -> account (anonymous_id = ''). The latest updated_at wins per key, so people moving
-- accounts and late merges resolve at query time without rewriting touchpoints.
CREATE TABLE IF NOT EXISTS {db}.identities
(
    anonymous_id String,
    person_id    String,
    account_id   String,
    email        String,
    updated_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (person_id, anonymous_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.conversions
(
    conversion_id  String,
    ts             DateTime64(3, 'UTC'),
    account_id     String,
    person_id      String,
    stage          LowCardinality(String),
    amount         Float64,
    currency       LowCardinality(String),
    opportunity_id String,
    inserted_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(ts)
ORDER BY (stage, conversion_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per credited touchpoint per model; (conversion, model, event) is unique, so a recomputed
-- or redelivered credit replaces the earlier one instead of adding to it.
CREATE TABLE IF NOT EXISTS {db}.attribution_credits
(
    conversion_id    String,
    stage            LowCardinality(String),
    model            LowCardinality(String),
    event_id         String,
    ts               DateTime64(3, 'UTC'),
    account_id       String,
    channel          LowCardinality(String),
    channel_category LowCardinality(String),
    utm_campaign     String,
    credit           Float64,
    revenue_credit   Float64,
    conversion_ts    DateTime64(3, 'UTC'),
    inserted_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(conversion_ts)
ORDER BY (stage, model, conversion_id, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.spend
(
    event_id     String,
    date         Date,
    channel      LowCardinality(String),
    utm_campaign String,
    cost         Float64,
    currency     LowCardinality(String),
    inserted_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(inserted_at)
ORDER BY (date, channel, utm_campaign, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.alerts
(
    alert_id String,
    ts       DateTime64(3, 'UTC'),
    kind     LowCardinality(String),
    subject  String,
    state    LowCardinality(String),
    value    Float64,
    baseline Float64,
    message  String
)
ENGINE = ReplacingMergeTree
ORDER BY (ts, alert_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.product_events
(
    event_id     String,
    ts           DateTime64(3, 'UTC'),
    anonymous_id String,
    person_id    String,
    account_id   String,
    name         LowCardinality(String),
    properties   String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (name, toDate(ts), event_id)
SETTINGS non_replicated_deduplication_window = 1000;
