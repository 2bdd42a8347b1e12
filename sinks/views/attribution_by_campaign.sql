-- attribution_by_campaign: attribution_by_channel per (channel, utm_campaign).
-- Returns one row per (channel, utm_campaign): conversions, revenue, touched_conversions (credit != 0).
-- Parameters: model, stage, since, until (period [since, until) on the conversion's date).
-- Reads attribution_credits FINAL.
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
