-- momentum: the CMO's series, one row per bucket of `bucket_days` days from `since` (7 from a Monday =
-- ISO weeks), every bucket of [since, until) present even when nothing happened in it (its counts 0,
-- its ratios NULL). Events count in the bucket in which they happened, so recent buckets are not
-- emptied by deals still open:
--   opportunities: accounts whose first opportunity is in the bucket; wins / closed: accounts whose first
--   close (closed_won or closed_lost, whichever came first) is in the bucket, won and all; won_total,
--   cycle_days_total / cycle_wins: the sums behind avg_deal and cycle_days, so several buckets can be
--   added up and the ratios recomputed (touchstream momentum does); win_rate: of accounts closing
--   in the bucket (first closed_won / closed_lost), the share won; avg_deal and cycle_days: wins in the
--   bucket, their amount and days from first opportunity to first win; velocity_per_day =
--   opportunities * win_rate * avg_deal / cycle_days (as sales_velocity, per bucket);
--   leads, customers (closed_won conversions), spend, cost_per_lead = spend / leads, cac = spend /
--   customers; direct_visits (direct page views), branded_search (touches flagged is_branded_search),
--   brand_mentions, competitor_mentions, share_of_voice = brand / all mentions (bots excluded);
--   accounts_engaged: accounts whose first touch ever is in the bucket (account_first_touches);
--   dg_influenced_opportunities: opportunity conversions of the bucket whose latest linear credits hold
--   a demand-gen touch (the stream's lookback: 90 days for demand gen), of all opportunities credited.
-- Parameters: since, until (dates), bucket_days (UInt32, >= 1):
--   SELECT * FROM momentum(since = '2026-01-05', until = '2026-03-30', bucket_days = 7)
-- Reads conversions FINAL, spend FINAL, touchpoints FINAL, attribution_credits FINAL, account_first_touches.
CREATE OR REPLACE VIEW {db}.momentum AS
WITH
    toDate({since:Date}) AS p_since,
    toDate({until:Date}) AS p_until,
    greatest(toUInt32({bucket_days:UInt32}), 1) AS p_days,
    buckets AS (
        SELECT p_since + toIntervalDay(number * p_days) AS bucket
        FROM numbers(toUInt64(intDiv(greatest(dateDiff('day', p_since, p_until), 0) + p_days - 1, p_days)))
    ),
    accounts AS (
        SELECT account_id,
               minIf(ts, stage = 'opportunity') AS opp_ts,
               minIf(ts, stage = 'closed_won') AS won_ts,
               minIf(ts, stage = 'closed_lost') AS lost_ts,
               countIf(stage = 'opportunity') > 0 AS has_opp,
               countIf(stage = 'closed_won') > 0 AS won,
               countIf(stage = 'closed_lost') > 0 AS lost,
               maxIf(amount, stage = 'closed_won') AS won_amount
        FROM {db}.conversions FINAL
        WHERE account_id != ''
        GROUP BY account_id
    ),
    opened AS (
        SELECT p_since + toIntervalDay(intDiv(dateDiff('day', p_since, toDate(opp_ts)), p_days) * p_days) AS bucket,
               count() AS opportunities
        FROM accounts
        WHERE has_opp AND toDate(opp_ts) >= p_since AND toDate(opp_ts) < p_until
        GROUP BY bucket
    ),
    closed AS (
        SELECT p_since + toIntervalDay(intDiv(dateDiff('day', p_since, toDate(close_ts)), p_days) * p_days) AS bucket,
               countIf(is_win) AS wins,
               count() AS closed,
               sumIf(won_amount, is_win) AS won_total,
               sumIf(dateDiff('second', opp_ts, won_ts) / 86400., is_win AND has_opp AND opp_ts <= won_ts) AS cycle_days_total,
               countIf(is_win AND has_opp AND opp_ts <= won_ts) AS cycle_wins,
               countIf(is_win) / count() AS win_rate,
               if(countIf(is_win) > 0, avgIf(won_amount, is_win), NULL) AS avg_deal,
               if(countIf(is_win AND has_opp AND opp_ts <= won_ts) > 0,
                  avgIf(dateDiff('second', opp_ts, won_ts) / 86400., is_win AND has_opp AND opp_ts <= won_ts),
                  NULL) AS cycle_days
        FROM (
            SELECT *, won AND (NOT lost OR won_ts <= lost_ts) AS is_win, if(is_win, won_ts, lost_ts) AS close_ts
            FROM accounts WHERE won OR lost
        )
        WHERE toDate(close_ts) >= p_since AND toDate(close_ts) < p_until
        GROUP BY bucket
    ),
    stages AS (
        SELECT p_since + toIntervalDay(intDiv(dateDiff('day', p_since, toDate(ts)), p_days) * p_days) AS bucket,
               countIf(stage = 'lead') AS leads,
               countIf(stage = 'closed_won') AS customers
        FROM {db}.conversions FINAL
        WHERE toDate(ts) >= p_since AND toDate(ts) < p_until
        GROUP BY bucket
    ),
    spent AS (
        SELECT p_since + toIntervalDay(intDiv(dateDiff('day', p_since, date), p_days) * p_days) AS bucket,
               sum(cost) AS spend
        FROM {db}.spend FINAL
        WHERE date >= p_since AND date < p_until
        GROUP BY bucket
    ),
    touched AS (
        SELECT p_since + toIntervalDay(intDiv(dateDiff('day', p_since, toDate(ts)), p_days) * p_days) AS bucket,
               countIf(type = 'page_view' AND channel = 'direct') AS direct_visits,
               countIf(is_branded_search) AS branded_search,
               countIf(type = 'mention' AND NOT is_competitor) AS brand_mentions,
               countIf(type = 'mention' AND is_competitor) AS competitor_mentions
        FROM {db}.touchpoints FINAL
        WHERE NOT is_bot AND toDate(ts) >= p_since AND toDate(ts) < p_until
        GROUP BY bucket
    ),
    engaged AS (
        SELECT p_since + toIntervalDay(intDiv(dateDiff('day', p_since, toDate(first_ts)), p_days) * p_days) AS bucket,
               count() AS accounts_engaged
        FROM {db}.account_first_touches
        WHERE toDate(first_ts) >= p_since AND toDate(first_ts) < p_until
        GROUP BY bucket
    ),
    influenced AS (
        SELECT p_since + toIntervalDay(intDiv(dateDiff('day', p_since, toDate(conversion_ts)), p_days) * p_days) AS bucket,
               uniqExactIf(conversion_id, channel_category = 'demand_gen') AS dg_influenced_opportunities,
               uniqExact(conversion_id) AS credited_opportunities
        FROM {db}.attribution_credits FINAL
        WHERE model = 'linear' AND stage = 'opportunity' AND credit != 0
          AND toDate(conversion_ts) >= p_since AND toDate(conversion_ts) < p_until
        GROUP BY bucket
    )
SELECT
    b.bucket AS bucket,
    o.opportunities AS opportunities,
    c.wins AS wins,
    c.closed AS closed,
    c.won_total AS won_total,
    c.cycle_days_total AS cycle_days_total,
    c.cycle_wins AS cycle_wins,
    if(c.bucket = b.bucket, c.win_rate, NULL) AS win_rate,
    if(c.bucket = b.bucket, c.avg_deal, NULL) AS avg_deal,
    if(c.bucket = b.bucket AND c.cycle_days > 0, c.cycle_days, NULL) AS cycle_days,
    opportunities * win_rate * avg_deal / cycle_days AS velocity_per_day,
    s.leads AS leads,
    s.customers AS customers,
    p.spend AS spend,
    nullIf(spend, 0) / nullIf(leads, 0) AS cost_per_lead,
    nullIf(spend, 0) / nullIf(customers, 0) AS cac,
    t.direct_visits AS direct_visits,
    t.branded_search AS branded_search,
    t.brand_mentions AS brand_mentions,
    t.competitor_mentions AS competitor_mentions,
    brand_mentions / nullIf(brand_mentions + competitor_mentions, 0) AS share_of_voice,
    e.accounts_engaged AS accounts_engaged,
    i.dg_influenced_opportunities AS dg_influenced_opportunities,
    i.credited_opportunities AS credited_opportunities
FROM buckets AS b
LEFT JOIN opened AS o ON o.bucket = b.bucket
LEFT JOIN closed AS c ON c.bucket = b.bucket
LEFT JOIN stages AS s ON s.bucket = b.bucket
LEFT JOIN spent AS p ON p.bucket = b.bucket
LEFT JOIN touched AS t ON t.bucket = b.bucket
LEFT JOIN engaged AS e ON e.bucket = b.bucket
LEFT JOIN influenced AS i ON i.bucket = b.bucket
ORDER BY bucket
SETTINGS join_use_nulls = 0;
