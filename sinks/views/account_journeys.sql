-- account_journeys: touchpoints with identities resolved at query time. A late identify therefore
-- re-attributes history without rewriting a single touchpoint row.
-- Returns one row per non-bot touchpoint (deduplicated: FINAL): its ids with person_id / account_id
-- resolved (latest identity link wins), type, channel, category, UTM fields, url, referrer, is_bot and
-- in_journey (the row is a touch the stream credits: not internal navigation nor an untagged direct form
-- post, migration 0009); ordered by (account_id, ts, event_id). No parameters.
-- Resolution (the same in rule_credits_between, account_first_touches and the stream, docs/identity.md):
--   person: the person the touchpoint row names, unless its device is shared (shared_devices) or that
--     device -> person edge is revoked (identity_revocations); else the device's person (device_people,
--     none for a shared device);
--   account: that person's account (person_accounts), else the account the touchpoint row carries,
--     unless that person -> account edge is revoked.
-- Reads touchpoints, device_links, person_accounts, identity_revocations.
CREATE OR REPLACE VIEW {db}.account_journeys AS
SELECT
    r.event_id AS event_id,
    r.ts AS ts,
    r.anonymous_id AS anonymous_id,
    r.person AS person_id,
    multiIf(e.resolved_account != '', e.resolved_account,
            r.void, '',
            {revoked_account},
            '', r.account_id) AS account_id,
    r.type AS type,
    r.channel AS channel,
    r.channel_category AS channel_category,
    r.utm_source AS utm_source,
    r.utm_medium AS utm_medium,
    r.utm_campaign AS utm_campaign,
    r.url AS url,
    r.referrer AS referrer,
    r.is_bot AS is_bot,
    r.in_journey AS in_journey
FROM (
    SELECT
        t.event_id AS event_id, t.ts AS ts, t.anonymous_id AS anonymous_id, t.account_id AS account_id,
        -- void: the row's person stamp no longer holds (a shared device, a revoked device edge); its
        -- stamped account goes with it, as the stream takes the touch back from that person.
        {void_stamp}
            AS void,
        if(t.person_id != '' AND NOT void, t.person_id, d.resolved_person) AS person,
        t.type AS type, t.channel AS channel, t.channel_category AS channel_category, t.utm_source AS utm_source,
        t.utm_medium AS utm_medium, t.utm_campaign AS utm_campaign, t.url AS url, t.referrer AS referrer,
        t.is_bot AS is_bot, t.in_journey AS in_journey
    FROM {db}.touchpoints AS t FINAL
    LEFT JOIN {db}.device_links AS d ON d.anonymous_id = t.anonymous_id
    WHERE NOT t.is_bot
) AS r
LEFT JOIN {db}.person_accounts AS e ON e.person_id = r.person
ORDER BY account_id, ts, event_id;
