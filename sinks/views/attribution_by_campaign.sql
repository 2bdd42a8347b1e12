-- attribution_by_campaign: attribution_by_channel per (channel, utm_campaign).
-- Returns one row per (channel, utm_campaign) holding credit or spend in the period: conversions,
-- revenue, touched_conversions (credit != 0), spend, cost_per_conversion, roas (NULL without spend or
-- credit, as in attribution_by_channel). Spend rows match on channel and campaign exactly.
-- Parameters: model, stage, since, until (period [since, until) on the conversion's and the spend's date).
-- Reads attribution_credits FINAL and spend FINAL.
CREATE OR REPLACE VIEW {db}.attribution_by_campaign AS
WITH
    credited AS (
        SELECT
            toString(channel) AS channel,
            utm_campaign,
            sum(credit) AS conversions,
            sum(revenue_credit) AS revenue,
            uniqExact(conversion_id) AS touched_conversions
        FROM {db}.attribution_credits FINAL
        WHERE model = {model:String} AND stage = {stage:String} AND credit != 0
          AND toDate(conversion_ts) >= {since:Date} AND toDate(conversion_ts) < {until:Date}
        GROUP BY channel, utm_campaign
    ),
    spent AS (
        SELECT toString(channel) AS channel, utm_campaign, sum(cost) AS spend
        FROM {db}.spend FINAL
        WHERE date >= {since:Date} AND date < {until:Date}
        GROUP BY channel, utm_campaign
    )
SELECT
    channel,
    utm_campaign,
    credited.conversions AS conversions,
    credited.revenue AS revenue,
    credited.touched_conversions AS touched_conversions,
    spent.spend AS spend,
    nullIf(spent.spend, 0) / nullIf(credited.conversions, 0) AS cost_per_conversion,
    credited.revenue / nullIf(spent.spend, 0) AS roas
FROM credited
FULL OUTER JOIN spent USING (channel, utm_campaign)
ORDER BY conversions DESC, spend DESC, channel, utm_campaign
SETTINGS join_use_nulls = 0;
