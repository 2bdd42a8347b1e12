-- The analyst views as sinks/migrations/0005_first_touches_and_fast_views.sql defined them before the views moved to
-- sinks/views/ (one file each, latest definition only). bench/sink.py times them against the live
-- views. {legacy} is the bench's copy database (these views read each other there); {db} holds the
-- tables and the live views they read otherwise (account_journeys, device_people, ...).

-- device_people, from 0005_first_touches_and_fast_views.sql.
CREATE OR REPLACE VIEW {legacy}.device_people AS
SELECT anonymous_id, argMax(person_id, updated_at) AS resolved_person
FROM {db}.identities
WHERE anonymous_id != ''
GROUP BY anonymous_id;

-- person_accounts, from 0005_first_touches_and_fast_views.sql.
CREATE OR REPLACE VIEW {legacy}.person_accounts AS
SELECT person_id, argMax(account_id, updated_at) AS resolved_account
FROM {db}.identities
WHERE account_id != ''
GROUP BY person_id;

-- account_first_touches, from 0005_first_touches_and_fast_views.sql.
CREATE OR REPLACE VIEW {legacy}.account_first_touches AS
SELECT
    account_id,
    min(first_touch) AS earliest,
    earliest.1 AS first_ts,
    earliest.2 AS first_event_id,
    earliest.3 AS first_channel
FROM (
    SELECT if(e.resolved_account != '', e.resolved_account, t.account_id) AS account_id, t.first_touch AS first_touch
    FROM (
        -- Fold parts not merged yet first (the sink adds one per batch): the joins then see one row per device.
        SELECT anonymous_id, person_id, account_id, min(first_touch) AS first_touch
        FROM {db}.touch_devices
        GROUP BY anonymous_id, person_id, account_id
    ) AS t
    LEFT JOIN {legacy}.device_people AS d ON d.anonymous_id = t.anonymous_id
    LEFT JOIN {legacy}.person_accounts AS e ON e.person_id = if(t.person_id != '', t.person_id, d.resolved_person)
)
WHERE account_id != ''
GROUP BY account_id;

-- demand_gen_influence, from 0005_first_touches_and_fast_views.sql.
CREATE OR REPLACE VIEW {legacy}.demand_gen_influence AS
WITH
    opps AS (
        SELECT conversion_id, account_id, ts, amount
        FROM {db}.conversions FINAL
        WHERE stage = 'opportunity' AND toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}
    ),
    people AS (SELECT person_id FROM {legacy}.person_accounts WHERE resolved_account IN (SELECT account_id FROM opps)),
    devices AS (SELECT anonymous_id FROM {legacy}.device_people WHERE resolved_person IN (SELECT person_id FROM people)),
    touches AS (
        SELECT if(e.resolved_account != '', e.resolved_account, t.account_id) AS account_id, t.ts AS ts
        FROM (
            SELECT anonymous_id, person_id, account_id, ts
            FROM {db}.touchpoints
            WHERE toDate(ts) >= toDate({since:Date}) - {lookback_days:UInt32} AND toDate(ts) < {until:Date}
              AND channel_category = 'demand_gen' AND NOT is_bot
              AND (anonymous_id IN (SELECT anonymous_id FROM devices) OR person_id IN (SELECT person_id FROM people)
                   OR account_id IN (SELECT account_id FROM opps))
        ) AS t
        LEFT JOIN {legacy}.device_people AS d ON d.anonymous_id = t.anonymous_id
        LEFT JOIN {legacy}.person_accounts AS e ON e.person_id = if(t.person_id != '', t.person_id, d.resolved_person)
    ),
    influenced AS (
        SELECT DISTINCT o.conversion_id AS conversion_id
        FROM touches AS j
        INNER JOIN opps AS o ON o.account_id = j.account_id
        WHERE j.ts <= o.ts AND j.ts > o.ts - toIntervalDay({lookback_days:UInt32})
    )
SELECT
    count() AS opportunities,
    sum(amount) AS pipeline,
    countIf(conversion_id IN (SELECT conversion_id FROM influenced)) AS influenced_opportunities,
    sumIf(amount, conversion_id IN (SELECT conversion_id FROM influenced)) AS influenced_pipeline,
    influenced_opportunities / nullIf(opportunities, 0) AS influenced_share
FROM opps;

-- lead_gen_kpis, from 0005_first_touches_and_fast_views.sql.
CREATE OR REPLACE VIEW {legacy}.lead_gen_kpis AS
WITH
    conv AS (SELECT conversion_id, account_id, stage, ts FROM {db}.conversions FINAL),
    period AS (SELECT * FROM conv WHERE toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}),
    advanced AS (SELECT DISTINCT account_id FROM conv WHERE stage IN ('sql', 'opportunity')),
        wins AS (
        SELECT p.ts AS won_ts, f.first_ts AS first_ts
        FROM period AS p INNER JOIN {legacy}.account_first_touches AS f ON f.account_id = p.account_id
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

-- sales_velocity, from 0005_first_touches_and_fast_views.sql.
CREATE OR REPLACE VIEW {legacy}.sales_velocity AS
WITH
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
        WHERE account_id IN (SELECT account_id FROM {legacy}.account_first_touches)
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

-- funnel_by_first_touch, from 0005_first_touches_and_fast_views.sql.
CREATE OR REPLACE VIEW {legacy}.funnel_by_first_touch AS
WITH
    firsts AS (
        SELECT account_id, first_ts, first_channel
        FROM {legacy}.account_first_touches
        WHERE toDate(first_ts) >= {since:Date} AND toDate(first_ts) < {until:Date}
    ),
    stages AS (
        SELECT account_id, groupArray((ts, toString(stage))) AS steps
        FROM {db}.conversions FINAL
        WHERE account_id != ''
        GROUP BY account_id
    ),
    levels AS (
        SELECT any(f.first_channel) AS first_channel,
               windowFunnel(toUInt64({window_days:UInt32}) * 86400)(
                   toDateTime(step.1), step.2 = 'touch', step.2 = 'lead', step.2 = 'mql', step.2 = 'sql',
                   step.2 = 'opportunity', step.2 = 'closed_won') AS level
        FROM firsts AS f
        LEFT JOIN stages AS s ON s.account_id = f.account_id
        ARRAY JOIN arrayPushFront(s.steps, (f.first_ts, 'touch')) AS step
        GROUP BY f.account_id
    )
SELECT
    first_channel AS first_touch_channel,
    count() AS accounts,
    countIf(level >= 2) AS leads,
    countIf(level >= 3) AS mqls,
    countIf(level >= 4) AS sqls,
    countIf(level >= 5) AS opportunities,
    countIf(level >= 6) AS closed_won,
    closed_won / accounts AS win_rate
FROM levels
GROUP BY first_touch_channel
ORDER BY accounts DESC, first_touch_channel;

-- rule_credits_between, from 0005_first_touches_and_fast_views.sql.
CREATE OR REPLACE VIEW {legacy}.rule_credits_between AS
WITH
    conv AS (
        SELECT conversion_id, ts AS conversion_ts, account_id, amount
        FROM {db}.conversions FINAL
        WHERE stage = {stage:String} AND account_id != ''
          AND toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}
    ),
    marks AS (
        SELECT account_id, minIf(ts, stage = 'lead') AS lead_ts, minIf(ts, stage = 'opportunity') AS opp_ts,
               countIf(stage = 'lead') > 0 AS has_lead, countIf(stage = 'opportunity') > 0 AS has_opp
        FROM {db}.conversions FINAL
        GROUP BY account_id
    ),
    people AS (SELECT person_id FROM {legacy}.person_accounts WHERE resolved_account IN (SELECT account_id FROM conv)),
    devices AS (SELECT anonymous_id FROM {legacy}.device_people WHERE resolved_person IN (SELECT person_id FROM people)),
    touches AS (
        SELECT t.event_id AS event_id, t.ts AS ts, t.channel AS channel, t.channel_category AS channel_category,
               t.utm_campaign AS utm_campaign,
               if(e.resolved_account != '', e.resolved_account, t.account_id) AS account_id
        FROM (
            SELECT event_id, ts, anonymous_id, person_id, account_id, channel, channel_category, utm_campaign
            FROM {db}.touchpoints FINAL
            WHERE NOT is_bot
              AND ts > (SELECT min(conversion_ts) FROM conv) - toIntervalDay(greatest({lookback_days:UInt32}, {lead_gen_days:UInt32}))
              AND ts <= (SELECT max(conversion_ts) FROM conv)
              AND (anonymous_id IN (SELECT anonymous_id FROM devices) OR person_id IN (SELECT person_id FROM people)
                   OR account_id IN (SELECT account_id FROM conv))
        ) AS t
        LEFT JOIN {legacy}.device_people AS d ON d.anonymous_id = t.anonymous_id
        LEFT JOIN {legacy}.person_accounts AS e ON e.person_id = if(t.person_id != '', t.person_id, d.resolved_person)
    ),
    journey AS (
        SELECT c.conversion_id AS conversion_id, c.conversion_ts AS conversion_ts, c.amount AS amount,
               j.event_id AS event_id, j.ts AS ts, j.channel AS channel, j.utm_campaign AS utm_campaign,
               m.has_lead AND m.lead_ts <= c.conversion_ts AS lead_in, m.lead_ts AS lead_ts,
               m.has_opp AND m.opp_ts <= c.conversion_ts AS opp_in, m.opp_ts AS opp_ts
        FROM touches AS j
        INNER JOIN conv AS c ON c.account_id = j.account_id
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
] AS m
-- The planner's automatic join swap builds the hash table from the touches (millions of rows) instead of
-- the conversions; keeping the written order is 2x faster at 10M touchpoints.
SETTINGS query_plan_join_swap_table = 0;

-- rule_credits, from 0005_first_touches_and_fast_views.sql.
CREATE OR REPLACE VIEW {legacy}.rule_credits AS
SELECT *
FROM {legacy}.rule_credits_between(
    stage = {stage:String}, since = '1970-01-01', until = '2149-06-06', lookback_days = {lookback_days:UInt32},
    lead_gen_days = {lead_gen_days:UInt32}, half_life_days = {half_life_days:Float64});
