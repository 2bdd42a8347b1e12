-- Faster analyst views at 10M touchpoints, same answers as 0005 (which stays the reference for the
-- rules; see its comments). What changed, from profiling each view:
--   * rule_credits_between filters touchpoints in PREWHERE, before FINAL: FINAL then merges only the
--     rows of the converting accounts instead of the whole period. Exact because every filtered column
--     (bot flag, ids, time) is a property of the event, identical in every delivered copy of it;
--   * first touches fold with min() over a String key instead of a Tuple: min() of a Tuple goes through
--     ClickHouse's generic (Field) path, several times slower. The key is toString(ts) (fixed width
--     'YYYY-MM-DD hh:mm:ss.sss', so it sorts as the time does), event_id, a NUL byte, channel: it orders
--     exactly as the tuple (ts, event_id, channel) does, event ids and channels never holding a NUL;
--   * lead_gen_kpis resolves first touches only for its period's wins (backward resolution, as in 0005);
--   * rule_credits_between gathers each conversion's window into one sorted array and computes the seven
--     models with array functions (one pass) instead of window functions over every journey row.
-- demand_gen_kpis stays as in 0004: the same PREWHERE there measured no faster (FINAL over the period's
-- rows is its cost either way).

-- account_first_touches: as in 0005 (same columns), folded over the String key.
CREATE OR REPLACE VIEW {db}.account_first_touches AS
SELECT
    account_id,
    (first_ts, first_event_id, first_channel) AS earliest,
    toDateTime64(substring(first_key, 1, 23), 3, 'UTC') AS first_ts,
    substring(first_key, 24, position(first_key, '\0') - 24) AS first_event_id,
    substring(first_key, position(first_key, '\0') + 1) AS first_channel
FROM (
    SELECT if(e.resolved_account != '', e.resolved_account, t.account_id) AS account_id, min(t.first_key) AS first_key
    FROM (
        -- Fold parts not merged yet first (the sink adds one per batch): the joins then see one row per device.
        SELECT anonymous_id, person_id, account_id,
               min(concat(toString(first_touch.1), first_touch.2, '\0', first_touch.3)) AS first_key
        FROM {db}.touch_devices
        GROUP BY anonymous_id, person_id, account_id
    ) AS t
    LEFT JOIN {db}.device_people AS d ON d.anonymous_id = t.anonymous_id
    LEFT JOIN {db}.person_accounts AS e ON e.person_id = if(t.person_id != '', t.person_id, d.resolved_person)
    WHERE account_id != ''
    GROUP BY account_id
);

-- lead_gen_kpis: as in 0005; days_to_convert resolves the first touches of the period's winning accounts
-- only: their people and devices first (a superset filter on touch_devices), then exactly as
-- account_first_touches does.
CREATE OR REPLACE VIEW {db}.lead_gen_kpis AS
WITH
    conv AS (SELECT conversion_id, account_id, stage, ts FROM {db}.conversions FINAL),
    period AS (SELECT * FROM conv WHERE toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}),
    advanced AS (SELECT DISTINCT account_id FROM conv WHERE stage IN ('sql', 'opportunity')),
    won AS (SELECT account_id, ts AS won_ts FROM period WHERE stage = 'closed_won'),
    people AS (SELECT person_id FROM {db}.person_accounts WHERE resolved_account IN (SELECT account_id FROM won)),
    devices AS (SELECT anonymous_id FROM {db}.device_people WHERE resolved_person IN (SELECT person_id FROM people)),
    firsts AS (
        SELECT if(e.resolved_account != '', e.resolved_account, t.account_id) AS account_id,
               toDateTime64(substring(min(t.first_key), 1, 23), 3, 'UTC') AS first_ts
        FROM (
            SELECT anonymous_id, person_id, account_id,
                   min(concat(toString(first_touch.1), first_touch.2, '\0', first_touch.3)) AS first_key
            FROM {db}.touch_devices
            PREWHERE anonymous_id IN (SELECT anonymous_id FROM devices) OR person_id IN (SELECT person_id FROM people)
                OR account_id IN (SELECT account_id FROM won)
            GROUP BY anonymous_id, person_id, account_id
        ) AS t
        LEFT JOIN {db}.device_people AS d ON d.anonymous_id = t.anonymous_id
        LEFT JOIN {db}.person_accounts AS e ON e.person_id = if(t.person_id != '', t.person_id, d.resolved_person)
        WHERE account_id IN (SELECT account_id FROM won)
        GROUP BY account_id
    ),
    wins AS (
        SELECT w.won_ts AS won_ts, f.first_ts AS first_ts
        FROM won AS w INNER JOIN firsts AS f ON f.account_id = w.account_id
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

-- rule_credits_between: as in 0005 (same rules, parameters and rows), one array per conversion.
CREATE OR REPLACE VIEW {db}.rule_credits_between AS
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
        WHERE account_id IN (SELECT account_id FROM conv)
        GROUP BY account_id
    ),
    people AS (SELECT person_id FROM {db}.person_accounts WHERE resolved_account IN (SELECT account_id FROM conv)),
    devices AS (SELECT anonymous_id FROM {db}.device_people WHERE resolved_person IN (SELECT person_id FROM people)),
    touches AS (
        SELECT t.event_id AS event_id, t.ts AS ts, t.channel AS channel, t.channel_category AS channel_category,
               t.utm_campaign AS utm_campaign,
               if(e.resolved_account != '', e.resolved_account, t.account_id) AS account_id
        FROM (
            SELECT event_id, ts, anonymous_id, person_id, account_id, channel, channel_category, utm_campaign
            FROM {db}.touchpoints FINAL
            PREWHERE NOT is_bot
              AND ts > (SELECT min(conversion_ts) FROM conv) - toIntervalDay(greatest({lookback_days:UInt32}, {lead_gen_days:UInt32}))
              AND ts <= (SELECT max(conversion_ts) FROM conv)
              AND (anonymous_id IN (SELECT anonymous_id FROM devices) OR person_id IN (SELECT person_id FROM people)
                   OR account_id IN (SELECT account_id FROM conv))
        ) AS t
        LEFT JOIN {db}.device_people AS d ON d.anonymous_id = t.anonymous_id
        LEFT JOIN {db}.person_accounts AS e ON e.person_id = if(t.person_id != '', t.person_id, d.resolved_person)
    ),
    paths AS (
        -- One row per conversion: its window's touches sorted by (ts, event_id), as row_number() ordered them.
        SELECT c.conversion_id AS conversion_id, any(c.account_id) AS account_id,
               any(c.conversion_ts) AS conversion_ts, any(c.amount) AS amount,
               arraySort(groupArray((j.ts, j.event_id, j.channel, j.utm_campaign))) AS path
        FROM touches AS j
        INNER JOIN conv AS c ON c.account_id = j.account_id
        WHERE j.ts <= c.conversion_ts
          AND j.ts > c.conversion_ts - toIntervalDay(
                if(j.channel_category = 'lead_gen', {lead_gen_days:UInt32}, {lookback_days:UInt32}))
        GROUP BY c.conversion_id
    ),
    shaped AS (
        SELECT p.conversion_id AS conversion_id, p.conversion_ts AS conversion_ts, p.amount AS amount, p.path AS path,
               length(p.path) AS n,
               -- position of the lead / opportunity touch = touches at or before that moment
               if(m.has_lead AND m.lead_ts <= p.conversion_ts, arrayCount(t -> t.1 <= m.lead_ts, p.path), 0)
                   AS lead_pos,
               if(m.has_opp AND m.opp_ts <= p.conversion_ts, arrayCount(t -> t.1 <= m.opp_ts, p.path), 0) AS opp_pos,
               -- time_decay weights against the last touch (the path is sorted, so path[-1] holds max(ts)).
               arrayMap(t -> exp2(-dateDiff('millisecond', t.1, p.path[-1].1) / (86400000. * {half_life_days:Float64})),
                        p.path) AS decays,
               arraySum(decays) AS decay_sum,
               lead_pos > 0 AS marked,
               if(opp_pos > 0, [1, lead_pos, opp_pos], [1, lead_pos]) AS w_anchors,
               if(opp_pos > 0, [1, lead_pos, opp_pos, n], [1, lead_pos, n]) AS f_anchors,
               length(arrayDistinct(w_anchors)) AS w_distinct,
               length(arrayDistinct(f_anchors)) AS f_distinct
        FROM paths AS p
        LEFT JOIN marks AS m ON m.account_id = p.account_id
    ),
    credited AS (
        SELECT conversion_id, conversion_ts, amount, touch, pos, n, marked, w_anchors, f_anchors, w_distinct, f_distinct,
               decay / decay_sum AS td,
               multiIf(n = 1, 1., n = 2, 0.5, pos = 1 OR pos = n, 0.4, 0.2 / (n - 2)) AS u,
               countEqual(w_anchors, pos) AS w_roles,
               countEqual(f_anchors, pos) AS f_roles
        FROM shaped
        ARRAY JOIN path AS touch, arrayEnumerate(path) AS pos, decays AS decay
    )
SELECT
    conversion_id, conversion_ts, touch.2 AS event_id, touch.1 AS ts, touch.3 AS channel, touch.4 AS utm_campaign,
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

-- rule_credits: every conversion of the stage (the Date type ends at 2149-06-06), as in 0005.
CREATE OR REPLACE VIEW {db}.rule_credits AS
SELECT *
FROM {db}.rule_credits_between(
    stage = {stage:String}, since = '1970-01-01', until = '2149-06-06', lookback_days = {lookback_days:UInt32},
    lead_gen_days = {lead_gen_days:UInt32}, half_life_days = {half_life_days:Float64});
