-- The analyst views as sinks/migrations/0003_attribution_views.sql and 0004_kpi_views.sql defined them before the views moved to
-- sinks/views/ (one file each, latest definition only). bench/sink.py times them against the live
-- views. {legacy} is the bench's copy database (these views read each other there); {db} holds the
-- tables and the live views they read otherwise (account_journeys, device_people, ...).

-- attribution_by_channel, from 0003_attribution_views.sql.
CREATE OR REPLACE VIEW {legacy}.attribution_by_channel AS
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

-- attribution_by_campaign, from 0003_attribution_views.sql.
CREATE OR REPLACE VIEW {legacy}.attribution_by_campaign AS
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

-- rule_credits, from 0003_attribution_views.sql.
CREATE OR REPLACE VIEW {legacy}.rule_credits AS
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

-- demand_gen_kpis, from 0004_kpi_views.sql.
CREATE OR REPLACE VIEW {legacy}.demand_gen_kpis AS
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

-- demand_gen_influence, from 0004_kpi_views.sql.
CREATE OR REPLACE VIEW {legacy}.demand_gen_influence AS
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

-- sales_velocity, from 0004_kpi_views.sql.
CREATE OR REPLACE VIEW {legacy}.sales_velocity AS
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

-- lead_gen_kpis, from 0004_kpi_views.sql.
CREATE OR REPLACE VIEW {legacy}.lead_gen_kpis AS
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

-- funnel_by_first_touch, from 0004_kpi_views.sql.
CREATE OR REPLACE VIEW {legacy}.funnel_by_first_touch AS
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
