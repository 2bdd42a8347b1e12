-- Attribution for analysts. All views read deduplicated data (FINAL), so a redelivered credit or
-- conversion never counts twice. Parameterized views take their parameters as a function call:
--   SELECT * FROM attribution_by_channel(model = 'linear', stage = 'closed_won',
--                                        since = '2026-01-01', until = '2026-04-01')
-- Periods are [since, until) on the conversion's date.

-- attribution_by_channel: credited conversions and revenue per channel, for one model and stage, from
-- the credits the stream computed (every model, including markov and shapley).
CREATE OR REPLACE VIEW {db}.attribution_by_channel AS
SELECT
    channel,
    sum(credit) AS conversions,
    sum(revenue_credit) AS revenue,
    uniqExact(conversion_id) AS touched_conversions
FROM {db}.attribution_credits FINAL
WHERE model = {model:String} AND stage = {stage:String}
  AND toDate(conversion_ts) >= {since:Date} AND toDate(conversion_ts) < {until:Date}
GROUP BY channel
ORDER BY conversions DESC, channel;

-- attribution_by_campaign: the same per (channel, utm_campaign).
CREATE OR REPLACE VIEW {db}.attribution_by_campaign AS
SELECT
    channel,
    utm_campaign,
    sum(credit) AS conversions,
    sum(revenue_credit) AS revenue,
    uniqExact(conversion_id) AS touched_conversions
FROM {db}.attribution_credits FINAL
WHERE model = {model:String} AND stage = {stage:String}
  AND toDate(conversion_ts) >= {since:Date} AND toDate(conversion_ts) < {until:Date}
GROUP BY channel, utm_campaign
ORDER BY conversions DESC, channel, utm_campaign;

-- rule_credits: every rule-based model recomputed in SQL from account_journeys + conversions, with the
-- lookback chosen now (so windows can change after the fact). One row per (conversion, touch, model).
-- Parameters: stage; lookback_days for demand-gen and direct touches, lead_gen_days for lead-gen ones;
-- half_life_days for time_decay. Same rules as attribution/rules.py:
--   first / last / linear; time_decay 2^(-age/half_life) normalised; u_shaped 40/20/40 (1 touch 100 %,
--   2 touches 50/50); w_shaped 30 % each to first, lead-creation and opportunity-creation touch, 10 %
--   over the others; full_path adds the last touch (22.5 % x 4). The lead-creation touch is the last
--   touch at or before the account's first `lead` conversion (opportunity likewise); no lead before
--   the conversion -> w_shaped / full_path fall back to u_shaped. Coinciding anchors add their shares.
CREATE OR REPLACE VIEW {db}.rule_credits AS
WITH
    conv AS (
        SELECT conversion_id, ts AS conversion_ts, account_id, amount
        FROM {db}.conversions FINAL
        WHERE stage = {stage:String} AND account_id != ''
    ),
    marks AS (
        SELECT account_id, minIf(ts, stage = 'lead') AS lead_ts, minIf(ts, stage = 'opportunity') AS opp_ts,
               countIf(stage = 'lead') > 0 AS has_lead, countIf(stage = 'opportunity') > 0 AS has_opp
        FROM {db}.conversions FINAL
        GROUP BY account_id
    ),
    journey AS (
        SELECT c.conversion_id AS conversion_id, c.conversion_ts AS conversion_ts, c.amount AS amount,
               j.event_id AS event_id, j.ts AS ts, j.channel AS channel, j.utm_campaign AS utm_campaign,
               m.has_lead AND m.lead_ts <= c.conversion_ts AS lead_in, m.lead_ts AS lead_ts,
               m.has_opp AND m.opp_ts <= c.conversion_ts AS opp_in, m.opp_ts AS opp_ts
        FROM conv AS c
        INNER JOIN {db}.account_journeys AS j ON j.account_id = c.account_id
        LEFT JOIN marks AS m ON m.account_id = c.account_id
        WHERE j.ts <= c.conversion_ts
          AND j.ts > c.conversion_ts - toIntervalDay(
                if(j.channel_category = 'lead_gen', {lead_gen_days:UInt32}, {lookback_days:UInt32}))
    ),
    ranked AS (
        SELECT *,
            row_number() OVER w AS pos,
            count() OVER p AS n,
            max(ts) OVER p AS last_ts,
            -- position of the lead / opportunity touch = touches at or before that moment
            if(lead_in, countIf(ts <= lead_ts) OVER p, 0) AS lead_pos,
            if(opp_in, countIf(ts <= opp_ts) OVER p, 0) AS opp_pos
        FROM journey
        WINDOW p AS (PARTITION BY conversion_id),
               w AS (PARTITION BY conversion_id ORDER BY ts, event_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ),
    shaped AS (
        SELECT *,
            exp2(-dateDiff('millisecond', ts, last_ts) / (86400000. * {half_life_days:Float64})) AS decay,
            multiIf(n = 1, 1., n = 2, 0.5, pos = 1 OR pos = n, 0.4, 0.2 / (n - 2)) AS u,
            lead_pos > 0 AS marked,
            if(opp_pos > 0, [1, lead_pos, opp_pos], [1, lead_pos]) AS w_anchors,
            if(opp_pos > 0, [1, lead_pos, opp_pos, n], [1, lead_pos, n]) AS f_anchors
        FROM ranked
    ),
    credited AS (
        SELECT *,
            decay / sum(decay) OVER (PARTITION BY conversion_id) AS td,
            length(arrayDistinct(w_anchors)) AS w_distinct,
            length(arrayDistinct(f_anchors)) AS f_distinct,
            countEqual(w_anchors, pos) AS w_roles,
            countEqual(f_anchors, pos) AS f_roles
        FROM shaped
    )
SELECT
    conversion_id, conversion_ts, event_id, ts, channel, utm_campaign,
    m.1 AS model, m.2 AS credit, m.2 * amount AS revenue_credit
FROM credited
ARRAY JOIN [
    ('first', toFloat64(pos = 1)),
    ('last', toFloat64(pos = n)),
    ('linear', 1. / n),
    ('time_decay', td),
    ('u_shaped', u),
    ('w_shaped', multiIf(n = 1, 1., NOT marked, u,
        w_distinct < n, if(w_roles > 0, w_roles * 0.9 / length(w_anchors), 0.1 / (n - w_distinct)),
        w_roles * 0.9 / length(w_anchors) + 0.1 / w_distinct)),
    ('full_path', multiIf(n = 1, 1., NOT marked, u,
        f_distinct < n, if(f_roles > 0, f_roles * 0.9 / length(f_anchors), 0.1 / (n - f_distinct)),
        f_roles * 0.9 / length(f_anchors) + 0.1 / f_distinct))
] AS m;
