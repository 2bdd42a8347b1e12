-- Credits that converge (issue 15). Stage 2 revises a conversion's credits whenever its journey changes
-- (a late touch, a hand-over after a merge, an erasure, an earlier lead signal arriving late) and
-- numbers the revisions (streams/revisions.py). The tables keep the latest revision:
--   * attribution_credits: ReplacingMergeTree(revision) on the same key (stage, model, conversion_id,
--     event_id). A touch that leaves a conversion's credit set gets a row with credit 0 in the new
--     revision, so FINAL + sum(credit) is exact; readers that count rows filter credit != 0. A
--     conversion with no touch in its window has one row per model with event_id '' and channel
--     '(none)', zeroed the same way once a revision credits real touches.
--   * conversions: ReplacingMergeTree(revision, deleted). A lead signal that stops counting (an earlier
--     one arrived late) gets a revision with deleted = true, which FINAL hides.
-- A redelivered revision carries the same number and the same rows, so it replaces itself; an older
-- revision inserted late (a sink re-reading a partition) never overrides a newer one, which the old
-- ReplacingMergeTree(inserted_at) did. The engine cannot be altered in place: each table is rebuilt
-- with the new shape, its rows copied (FINAL: one per key) as revision 0, and the two swapped.

CREATE TABLE IF NOT EXISTS {db}.attribution_credits_0007
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
    revision         UInt64 DEFAULT 0,
    inserted_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(conversion_ts)
ORDER BY (stage, model, conversion_id, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO {db}.attribution_credits_0007
    (conversion_id, stage, model, event_id, ts, account_id, channel, channel_category, utm_campaign,
     credit, revenue_credit, conversion_ts, revision, inserted_at)
SELECT conversion_id, stage, model, event_id, ts, account_id, channel, channel_category, utm_campaign,
       credit, revenue_credit, conversion_ts, 0, inserted_at
FROM {db}.attribution_credits FINAL;

EXCHANGE TABLES {db}.attribution_credits AND {db}.attribution_credits_0007;

DROP TABLE {db}.attribution_credits_0007;

CREATE TABLE IF NOT EXISTS {db}.conversions_0007
(
    conversion_id  String,
    ts             DateTime64(3, 'UTC'),
    account_id     String,
    person_id      String,
    stage          LowCardinality(String),
    amount         Float64,
    currency       LowCardinality(String),
    opportunity_id String,
    revision       UInt64 DEFAULT 0,
    deleted        Bool DEFAULT false,
    inserted_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(revision, deleted)
PARTITION BY toYYYYMM(ts)
ORDER BY (stage, conversion_id)
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO {db}.conversions_0007
    (conversion_id, ts, account_id, person_id, stage, amount, currency, opportunity_id, revision, deleted,
     inserted_at)
SELECT conversion_id, ts, account_id, person_id, stage, amount, currency, opportunity_id, 0, false, inserted_at
FROM {db}.conversions FINAL;

EXCHANGE TABLES {db}.conversions AND {db}.conversions_0007;

DROP TABLE {db}.conversions_0007;

-- The credit views of 0003 again, counting only conversions a touch still holds credit for.
CREATE OR REPLACE VIEW {db}.attribution_by_channel AS
SELECT
    channel,
    sum(credit) AS conversions,
    sum(revenue_credit) AS revenue,
    uniqExact(conversion_id) AS touched_conversions
FROM {db}.attribution_credits FINAL
WHERE model = {model:String} AND stage = {stage:String} AND credit != 0
  AND toDate(conversion_ts) >= {since:Date} AND toDate(conversion_ts) < {until:Date}
GROUP BY channel
ORDER BY conversions DESC, channel;

CREATE OR REPLACE VIEW {db}.attribution_by_campaign AS
SELECT
    channel,
    utm_campaign,
    sum(credit) AS conversions,
    sum(revenue_credit) AS revenue,
    uniqExact(conversion_id) AS touched_conversions
FROM {db}.attribution_credits FINAL
WHERE model = {model:String} AND stage = {stage:String} AND credit != 0
  AND toDate(conversion_ts) >= {since:Date} AND toDate(conversion_ts) < {until:Date}
GROUP BY channel, utm_campaign
ORDER BY conversions DESC, channel, utm_campaign;
