-- lead_gen_kpis: one row of lead-gen KPIs for a period [since, until) (dates). leads / mqls / sqls /
-- opportunities / customers are conversions of that stage in the period; lead_to_mql and mql_to_sql are
-- ratios of those counts; spend is all spend in the period; cost_per_lead = spend / leads, cac = spend /
-- customers; lead_quality = share of the period's leads whose account reached sql or opportunity (any
-- time); days_to_convert = average days from an account's first touch to its closed_won, for wins in
-- the period. First touches are resolved only for the period's winning accounts: their people and
-- devices first (a superset filter on touch_devices), then exactly as account_first_touches does.
-- Parameters: since, until. Reads conversions FINAL, spend FINAL, touch_devices, person_accounts,
-- device_people, device_links, identity_revocations (touches resolved as account_journeys resolves them).
CREATE OR REPLACE VIEW {db}.lead_gen_kpis AS
WITH
    conv AS (SELECT conversion_id, account_id, stage, ts FROM {db}.conversions FINAL),
    period AS (SELECT * FROM conv WHERE toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}),
    advanced AS (SELECT DISTINCT account_id FROM conv WHERE stage IN ('sql', 'opportunity')),
    won AS (SELECT account_id, ts AS won_ts FROM period WHERE stage = 'closed_won'),
    people AS (SELECT person_id FROM {db}.person_accounts WHERE resolved_account IN (SELECT account_id FROM won)),
    devices AS (SELECT anonymous_id FROM {db}.device_people WHERE resolved_person IN (SELECT person_id FROM people)),
    firsts AS (
        -- Resolved as account_journeys resolves a touch (docs/identity.md).
        SELECT multiIf(e.resolved_account != '', e.resolved_account, r.void, '',
                   {revoked_account},
                   '', r.account_id) AS account_id,
               toDateTime64(substring(min(r.first_key), 1, 23), 3, 'UTC') AS first_ts
        FROM (
            SELECT t.account_id AS account_id, t.first_key AS first_key,
                   {void_stamp}
                   AS void,
                   if(t.person_id != '' AND NOT void, t.person_id, d.resolved_person) AS person
            FROM (
                SELECT anonymous_id, person_id, account_id,
                       min(concat(toString(first_touch.1), first_touch.2, '\0', first_touch.3)) AS first_key
                FROM {db}.touch_devices
                PREWHERE anonymous_id IN (SELECT anonymous_id FROM devices) OR person_id IN (SELECT person_id FROM people)
                    OR account_id IN (SELECT account_id FROM won)
                GROUP BY anonymous_id, person_id, account_id
            ) AS t
            LEFT JOIN {db}.device_links AS d ON d.anonymous_id = t.anonymous_id
        ) AS r
        LEFT JOIN {db}.person_accounts AS e ON e.person_id = r.person
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
