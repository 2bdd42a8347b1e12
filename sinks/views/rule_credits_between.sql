-- rule_credits_between: every rule-based model recomputed in SQL for the conversions of one period
-- [since, until) (conversion date), with the lookback chosen now (so windows can change after the fact).
-- Returns one row per (conversion, touch, model): conversion_id, conversion_ts, event_id, ts, channel,
-- utm_campaign, model, credit, revenue_credit; a conversion without a touch in its window gets one row
-- per model with event_id '', channel '(none)' and the whole credit, as the stream's credits do.
-- Parameters: stage, since, until; lookback_days for demand-gen and direct touches, lead_gen_days for
-- lead-gen ones; half_life_days for time_decay. Same rules as attribution/rules.py:
--   first / last / linear; time_decay 2^(-age/half_life) normalised; u_shaped 40/20/40 (1 touch 100 %,
--   2 touches 50/50); w_shaped 30 % each to first, lead-creation and opportunity-creation touch, 10 %
--   over the others; full_path adds the last touch (22.5 % x 4). The lead-creation touch is the last
--   touch at or before the account's first conversion of any credited stage (lead, mql, sql,
--   opportunity, closed_won: an account whose first signal is an MQL was a lead then, as the stream's
--   markers say, streams/credit.py); the opportunity-creation touch likewise for its first opportunity
--   or closed_won; no lead before the conversion -> w_shaped / full_path fall back to u_shaped.
--   Coinciding anchors add their shares.
-- Touches are the rows the stream admits to journeys (touchpoints.in_journey, migration 0009: no bots,
-- no internal navigation, no untagged direct form posts), so its answer is the stream's latest revision.
-- Reads conversions FINAL, person_accounts, device_people, device_links, identity_revocations and
-- touchpoints FINAL: only the converting accounts' touchpoints from the earliest lookback on (filtered in
-- PREWHERE, before FINAL: every filtered column is a property of the event), resolved exactly as
-- account_journeys does (shared devices and revoked edges included). Each
-- conversion's window is gathered into one sorted array and the seven models computed with array functions.
CREATE OR REPLACE VIEW {db}.rule_credits_between AS
WITH
    conv AS (
        SELECT conversion_id, ts AS conversion_ts, account_id, amount
        FROM {db}.conversions FINAL
        WHERE stage = {stage:String} AND account_id != ''
          AND toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}
    ),
    marks AS (
        SELECT account_id,
               minIf(ts, stage IN ('lead', 'mql', 'sql', 'opportunity', 'closed_won')) AS lead_ts,
               minIf(ts, stage IN ('opportunity', 'closed_won')) AS opp_ts,
               countIf(stage IN ('lead', 'mql', 'sql', 'opportunity', 'closed_won')) > 0 AS has_lead,
               countIf(stage IN ('opportunity', 'closed_won')) > 0 AS has_opp
        FROM {db}.conversions FINAL
        WHERE account_id IN (SELECT account_id FROM conv)
        GROUP BY account_id
    ),
    people AS (SELECT person_id FROM {db}.person_accounts WHERE resolved_account IN (SELECT account_id FROM conv)),
    devices AS (SELECT anonymous_id FROM {db}.device_people WHERE resolved_person IN (SELECT person_id FROM people)),
    touches AS (
        SELECT r.event_id AS event_id, r.ts AS ts, r.channel AS channel, r.channel_category AS channel_category,
               r.utm_campaign AS utm_campaign,
               multiIf(e.resolved_account != '', e.resolved_account,
                       r.void, '',
                       {revoked_account},
                       '', r.account_id) AS account_id
        FROM (
        SELECT t.event_id AS event_id, t.ts AS ts, t.account_id AS account_id, t.channel AS channel,
               t.channel_category AS channel_category, t.utm_campaign AS utm_campaign,
               -- void: the row's person stamp no longer holds (a shared device, a revoked device edge); its
               -- stamped account goes with it, as the stream takes the touch back from that person.
               {void_stamp}
                   AS void,
               if(t.person_id != '' AND NOT void, t.person_id, d.resolved_person) AS person
        FROM (
            SELECT event_id, ts, anonymous_id, person_id, account_id, channel, channel_category, utm_campaign
            FROM {db}.touchpoints FINAL
            PREWHERE NOT is_bot
              AND ts > (SELECT min(conversion_ts) FROM conv) - toIntervalDay(greatest({lookback_days:UInt32}, {lead_gen_days:UInt32}))
              AND ts <= (SELECT max(conversion_ts) FROM conv)
              AND (anonymous_id IN (SELECT anonymous_id FROM devices) OR person_id IN (SELECT person_id FROM people)
                   OR account_id IN (SELECT account_id FROM conv))
            -- After the cheap filters: in_journey reads the URL columns, only for the converting accounts' rows.
            WHERE in_journey
        ) AS t
        LEFT JOIN {db}.device_links AS d ON d.anonymous_id = t.anonymous_id
        ) AS r
        LEFT JOIN {db}.person_accounts AS e ON e.person_id = r.person
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
    complete AS (
        -- Every conversion of the period; one without a touch in its window gets a single '(none)'
        -- pseudo-touch at its own time (the whole credit under every model), as the stream credits it.
        SELECT c.conversion_id AS conversion_id, c.account_id AS account_id, c.conversion_ts AS conversion_ts,
               c.amount AS amount, if(empty(p.path), [(c.conversion_ts, '', '(none)', '')], p.path) AS path
        FROM conv AS c
        LEFT JOIN paths AS p ON p.conversion_id = c.conversion_id
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
        FROM complete AS p
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
SETTINGS query_plan_join_swap_table = 0, join_use_nulls = 0;
