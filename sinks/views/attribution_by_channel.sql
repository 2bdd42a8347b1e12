-- attribution_by_channel: credited conversions and revenue per channel, for one model and stage, from
-- the credits the stream computed (every model, including markov and shapley).
-- Returns one row per channel: conversions (sum of credit), revenue (sum of revenue_credit),
-- touched_conversions (conversions a touch of the channel still holds credit for: credit != 0, see 0007).
-- Parameters: model, stage, since, until (period [since, until) on the conversion's date):
--   SELECT * FROM attribution_by_channel(model = 'linear', stage = 'closed_won',
--                                        since = '2026-01-01', until = '2026-04-01')
-- Reads attribution_credits FINAL (a redelivered or revised credit never counts twice).
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
