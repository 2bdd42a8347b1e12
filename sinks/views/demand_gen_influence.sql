-- demand_gen_influence: opportunities (and their pipeline amount) created in the period whose account
-- had a demand-gen touch in the `lookback_days` before the opportunity, beside all opportunities.
-- Returns one row: opportunities, pipeline, influenced_opportunities, influenced_pipeline, influenced_share.
-- Parameters: since, until (opportunity date, [since, until)), lookback_days.
-- Reads conversions FINAL, touchpoints (only the opportunities' accounts' demand-gen touches of
-- [since - lookback, until), found backwards through person_accounts / device_people and resolved as
-- account_journeys does). Existence does not care about redelivered copies, hence no FINAL there.
CREATE OR REPLACE VIEW {db}.demand_gen_influence AS
WITH
    opps AS (
        SELECT conversion_id, account_id, ts, amount
        FROM {db}.conversions FINAL
        WHERE stage = 'opportunity' AND toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}
    ),
    people AS (SELECT person_id FROM {db}.person_accounts WHERE resolved_account IN (SELECT account_id FROM opps)),
    devices AS (SELECT anonymous_id FROM {db}.device_people WHERE resolved_person IN (SELECT person_id FROM people)),
    touches AS (
        -- Resolved as account_journeys resolves a touch (docs/identity.md): a void person stamp (shared device,
        -- revoked device edge) gives way to the device's person and takes its stamped account along.
        SELECT multiIf(e.resolved_account != '', e.resolved_account, r.void, '',
                   {revoked_account},
                   '', r.account_id) AS account_id, r.ts AS ts
        FROM (
            SELECT t.account_id AS account_id, t.ts AS ts,
                   {void_stamp}
                   AS void,
                   if(t.person_id != '' AND NOT void, t.person_id, d.resolved_person) AS person
            FROM (
                SELECT anonymous_id, person_id, account_id, ts
                FROM {db}.touchpoints
                WHERE toDate(ts) >= toDate({since:Date}) - {lookback_days:UInt32} AND toDate(ts) < {until:Date}
                  AND channel_category = 'demand_gen' AND NOT is_bot
                  AND (anonymous_id IN (SELECT anonymous_id FROM devices) OR person_id IN (SELECT person_id FROM people)
                       OR account_id IN (SELECT account_id FROM opps))
            ) AS t
            LEFT JOIN {db}.device_links AS d ON d.anonymous_id = t.anonymous_id
        ) AS r
        LEFT JOIN {db}.person_accounts AS e ON e.person_id = r.person
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
