-- attribution_by_channel: credited conversions, revenue and what they cost per channel, for one model
-- and stage, from the credits the stream computed (every rule-based model; Markov / Shapley are fitted
-- by `touchstream report`).
-- Returns one row per channel that holds credit or spend in the period: conversions (sum of credit),
-- revenue (sum of revenue_credit), touched_conversions (conversions a touch of the channel still holds
-- credit for: credit != 0, see 0007), spend (sum of spend.cost on days in the period), cost_per_conversion
-- (spend / conversions) and roas (revenue / spend). Without spend in the period (organic, direct) both
-- are NULL and spend is 0; with spend and no credit, conversions is 0 and cost_per_conversion NULL.
-- Spend and revenue are summed as they are: one currency is assumed.
-- Parameters: model, stage, since, until (period [since, until) on the conversion's and the spend's date):
--   SELECT * FROM attribution_by_channel(model = 'linear', stage = 'closed_won',
--                                        since = '2026-01-01', until = '2026-04-01')
-- Reads attribution_credits FINAL and spend FINAL (a redelivered or revised row never counts twice).
CREATE OR REPLACE VIEW {db}.attribution_by_channel AS
WITH
    credited AS (
        SELECT
            toString(channel) AS channel,
            sum(credit) AS conversions,
            sum(revenue_credit) AS revenue,
            uniqExact(conversion_id) AS touched_conversions
        FROM {db}.attribution_credits FINAL
        WHERE model = {model:String} AND stage = {stage:String} AND credit != 0
          AND toDate(conversion_ts) >= {since:Date} AND toDate(conversion_ts) < {until:Date}
        GROUP BY channel
    ),
    spent AS (
        SELECT toString(channel) AS channel, sum(cost) AS spend
        FROM {db}.spend FINAL
        WHERE date >= {since:Date} AND date < {until:Date}
        GROUP BY channel
    )
SELECT
    channel,
    credited.conversions AS conversions,
    credited.revenue AS revenue,
    credited.touched_conversions AS touched_conversions,
    spent.spend AS spend,
    nullIf(spent.spend, 0) / nullIf(credited.conversions, 0) AS cost_per_conversion,
    credited.revenue / nullIf(spent.spend, 0) AS roas
FROM credited
FULL OUTER JOIN spent USING (channel)
ORDER BY conversions DESC, spend DESC, channel
SETTINGS join_use_nulls = 0;
