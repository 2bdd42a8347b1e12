-- account_journeys: touchpoints with identities resolved at query time. A late identify therefore
-- re-attributes history without rewriting a single touchpoint row.
-- Returns one row per non-bot touchpoint (deduplicated: FINAL): its ids with person_id / account_id
-- resolved (latest identity link wins), type, channel, category, UTM fields, url, referrer, is_bot and
-- in_journey (the row is a touch the stream credits: not internal navigation nor an untagged direct form
-- post, migration 0009); ordered by (account_id, ts, event_id). No parameters. Reads touchpoints, identities.
CREATE OR REPLACE VIEW {db}.account_journeys AS
WITH
    device AS (
        SELECT anonymous_id, argMax(person_id, updated_at) AS resolved_person
        FROM {db}.identities
        WHERE anonymous_id != ''
        GROUP BY anonymous_id
    ),
    employer AS (
        SELECT person_id, argMax(account_id, updated_at) AS resolved_account
        FROM {db}.identities
        WHERE account_id != ''
        GROUP BY person_id
    )
SELECT
    t.event_id AS event_id,
    t.ts AS ts,
    t.anonymous_id AS anonymous_id,
    if(t.person_id != '', t.person_id, d.resolved_person) AS person_id,
    if(e.resolved_account != '', e.resolved_account, t.account_id) AS account_id,
    t.type AS type,
    t.channel AS channel,
    t.channel_category AS channel_category,
    t.utm_source AS utm_source,
    t.utm_medium AS utm_medium,
    t.utm_campaign AS utm_campaign,
    t.url AS url,
    t.referrer AS referrer,
    t.is_bot AS is_bot,
    t.in_journey AS in_journey
FROM {db}.touchpoints AS t FINAL
LEFT JOIN device AS d ON d.anonymous_id = t.anonymous_id
LEFT JOIN employer AS e ON e.person_id = if(t.person_id != '', t.person_id, d.resolved_person)
WHERE NOT t.is_bot
ORDER BY account_id, ts, event_id;
