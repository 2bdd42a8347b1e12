-- Demand-gen and lead-gen KPIs, funnel and velocity. Parameterized views; periods are [since, until)
-- dates. Every view reads deduplicated rows (FINAL) and excludes bots.

-- demand_gen_kpis: one row of demand-gen KPIs for a period.
--   page_views / visitors: website traffic; engaged_sessions: visitor-days with 2+ touches or any
--   engagement / form (a visitor-day is the session unit: cheap and stable at 10M rows);
--   social_engagements, content_consumption (content engagements + gated-content forms),
--   podcast_video_engagements, event_attendance (event + webinar engagements);
--   brand_mentions, competitor_mentions, share_of_voice (own / all mentions);
--   direct_visits, direct_visits_prev (same-length previous period), direct_traffic_growth (ratio - 1);
--   branded_search_visits (touchpoints.is_branded_search).
CREATE OR REPLACE VIEW {db}.demand_gen_kpis AS
WITH
    toDate({since:Date}) AS p_since,
    toDate({until:Date}) AS p_until,
    p_since - (p_until - p_since) AS p_prev,
    touches AS (
        SELECT type, channel, engagement_kind, form_kind, is_branded_search, is_competitor,
               anonymous_id, toDate(ts) AS day, day >= p_since AS current
        FROM {db}.touchpoints FINAL
        WHERE NOT is_bot AND toDate(ts) >= p_prev AND toDate(ts) < p_until
    ),
    visit_days AS (
        SELECT anonymous_id, day, count() AS touches,
               countIf(type IN ('engagement', 'form_submit')) AS engaged
        FROM touches
        WHERE current AND type IN ('page_view', 'engagement', 'form_submit') AND anonymous_id != ''
        GROUP BY anonymous_id, day
    )
SELECT
    countIf(current AND type = 'page_view') AS page_views,
    uniqExactIf(anonymous_id, current AND type = 'page_view') AS visitors,
    (SELECT countIf(touches >= 2 OR engaged > 0) FROM visit_days) AS engaged_sessions,
    countIf(current AND type = 'engagement' AND channel IN ('organic_social', 'paid_social')) AS social_engagements,
    countIf(current AND ((type = 'engagement' AND engagement_kind = 'content')
                         OR (type = 'form_submit' AND form_kind = 'gated_content'))) AS content_consumption,
    countIf(current AND type = 'engagement' AND engagement_kind IN ('podcast', 'video')) AS podcast_video_engagements,
    countIf(current AND type = 'engagement' AND engagement_kind IN ('event', 'webinar')) AS event_attendance,
    countIf(current AND type = 'mention' AND NOT is_competitor) AS brand_mentions,
    countIf(current AND type = 'mention' AND is_competitor) AS competitor_mentions,
    brand_mentions / nullIf(brand_mentions + competitor_mentions, 0) AS share_of_voice,
    countIf(current AND type = 'page_view' AND channel = 'direct') AS direct_visits,
    countIf(NOT current AND type = 'page_view' AND channel = 'direct') AS direct_visits_prev,
    direct_visits / nullIf(direct_visits_prev, 0) - 1 AS direct_traffic_growth,
    countIf(current AND is_branded_search) AS branded_search_visits
FROM touches;

-- demand_gen_influence: opportunities (and their pipeline amount) created in the period whose account
-- had a demand-gen touch in the `lookback_days` before the opportunity, beside all opportunities.
CREATE OR REPLACE VIEW {db}.demand_gen_influence AS
WITH
    opps AS (
        SELECT conversion_id, account_id, ts, amount
        FROM {db}.conversions FINAL
        WHERE stage = 'opportunity' AND toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}
    ),
    influenced AS (
        SELECT DISTINCT o.conversion_id AS conversion_id
        FROM opps AS o
        INNER JOIN {db}.account_journeys AS j ON j.account_id = o.account_id
        WHERE j.channel_category = 'demand_gen' AND j.ts <= o.ts
          AND j.ts > o.ts - toIntervalDay({lookback_days:UInt32})
    )
SELECT
    count() AS opportunities,
    sum(amount) AS pipeline,
    countIf(conversion_id IN (SELECT conversion_id FROM influenced)) AS influenced_opportunities,
    sumIf(amount, conversion_id IN (SELECT conversion_id FROM influenced)) AS influenced_pipeline,
    influenced_opportunities / nullIf(opportunities, 0) AS influenced_share
FROM opps;

-- sales_velocity: for known accounts (at least one identified touchpoint), opportunities created in
-- the period and their four factors: count, win rate (won / closed), average won deal, average days
-- from opportunity to close; velocity = opportunities * win_rate * avg_deal / cycle_days (per day).
CREATE OR REPLACE VIEW {db}.sales_velocity AS
WITH
    known AS (SELECT DISTINCT account_id FROM {db}.account_journeys WHERE account_id != ''),
    stages AS (
        SELECT account_id,
               minIf(ts, stage = 'opportunity') AS opp_ts,
               minIf(ts, stage = 'closed_won') AS won_ts,
               minIf(ts, stage = 'closed_lost') AS lost_ts,
               countIf(stage = 'opportunity') > 0 AS has_opp,
               countIf(stage = 'closed_won') > 0 AS won,
               countIf(stage = 'closed_lost') > 0 AS lost,
               maxIf(amount, stage = 'closed_won') AS won_amount
        FROM {db}.conversions FINAL
        WHERE account_id IN (SELECT account_id FROM known)
        GROUP BY account_id
        HAVING has_opp AND toDate(opp_ts) >= {since:Date} AND toDate(opp_ts) < {until:Date}
    )
SELECT
    count() AS opportunities,
    countIf(won) / nullIf(countIf(won OR lost), 0) AS win_rate,
    avgIf(won_amount, won) AS avg_deal,
    avgIf(dateDiff('second', opp_ts, won_ts) / 86400., won) AS cycle_days,
    opportunities * win_rate * avg_deal / nullIf(cycle_days, 0) AS velocity_per_day
FROM stages;

-- lead_gen_kpis: one row of lead-gen KPIs for a period. leads / mqls / sqls / opportunities / customers
-- are conversions of that stage in the period; lead_to_mql and mql_to_sql are ratios of those counts;
-- spend is all spend in the period; cost_per_lead = spend / leads, cac = spend / customers;
-- lead_quality = share of the period's leads whose account reached sql or opportunity (any time);
-- days_to_convert = average days from an account's first touch to its closed_won, for wins in the period.
CREATE OR REPLACE VIEW {db}.lead_gen_kpis AS
WITH
    conv AS (SELECT conversion_id, account_id, stage, ts FROM {db}.conversions FINAL),
    period AS (SELECT * FROM conv WHERE toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}),
    advanced AS (SELECT DISTINCT account_id FROM conv WHERE stage IN ('sql', 'opportunity')),
    first_touch AS (SELECT account_id, min(ts) AS first_ts FROM {db}.account_journeys GROUP BY account_id),
    wins AS (
        SELECT p.ts AS won_ts, f.first_ts AS first_ts
        FROM period AS p INNER JOIN first_touch AS f ON f.account_id = p.account_id
        WHERE p.stage = 'closed_won'
    )
SELECT
    countIf(stage = 'lead') AS leads,
    countIf(stage = 'mql') AS mqls,
    countIf(stage = 'sql') AS sqls,
    countIf(stage = 'opportunity') AS opportunities,
    countIf(stage = 'closed_won') AS customers,
    mqls / nullIf(leads, 0) AS lead_to_mql,
    sqls / nullIf(mqls, 0) AS mql_to_sql,
    (SELECT sum(cost) FROM {db}.spend FINAL WHERE date >= {since:Date} AND date < {until:Date}) AS spend,
    spend / nullIf(leads, 0) AS cost_per_lead,
    spend / nullIf(customers, 0) AS cac,
    countIf(stage = 'lead' AND account_id IN (SELECT account_id FROM advanced)) / nullIf(leads, 0) AS lead_quality,
    (SELECT avg(dateDiff('second', first_ts, won_ts) / 86400.) FROM wins) AS days_to_convert
FROM period;

-- funnel_by_first_touch: accounts by the channel of their first touch, and how far each got within
-- `window_days` of that first touch: windowFunnel over first touch -> lead -> mql -> sql ->
-- opportunity -> closed_won (each step after the previous one). The period selects first touches.
CREATE OR REPLACE VIEW {db}.funnel_by_first_touch AS
WITH
    firsts AS (
        SELECT account_id, min(ts) AS first_ts, argMin(channel, (ts, event_id)) AS first_channel
        FROM {db}.account_journeys
        WHERE account_id != ''
        GROUP BY account_id
        HAVING toDate(first_ts) >= {since:Date} AND toDate(first_ts) < {until:Date}
    ),
    timeline AS (
        SELECT account_id, first_ts AS ts, 'touch' AS step FROM firsts
        UNION ALL
        SELECT account_id, ts, stage AS step FROM {db}.conversions FINAL
        WHERE account_id IN (SELECT account_id FROM firsts)
    ),
    levels AS (
        SELECT account_id,
               windowFunnel(toUInt64({window_days:UInt32}) * 86400)(
                   toDateTime(ts), step = 'touch', step = 'lead', step = 'mql', step = 'sql',
                   step = 'opportunity', step = 'closed_won') AS level
        FROM timeline
        GROUP BY account_id
    )
SELECT
    f.first_channel AS first_touch_channel,
    count() AS accounts,
    countIf(l.level >= 2) AS leads,
    countIf(l.level >= 3) AS mqls,
    countIf(l.level >= 4) AS sqls,
    countIf(l.level >= 5) AS opportunities,
    countIf(l.level >= 6) AS closed_won,
    closed_won / accounts AS win_rate
FROM firsts AS f
INNER JOIN levels AS l ON l.account_id = f.account_id
GROUP BY first_touch_channel
ORDER BY accounts DESC, first_touch_channel;
