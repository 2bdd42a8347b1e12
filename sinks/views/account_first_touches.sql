-- account_first_touches: per account (identities resolved now), its first touch: the same as
-- min(ts) / argMin(channel, (ts, event_id)) over account_journeys, from ~1 row per device.
-- Returns one row per account_id: earliest (ts, event_id, channel), first_ts, first_event_id,
-- first_channel. No parameters. Reads touch_devices (filled by touch_devices_mv, migration 0005),
-- device_people, person_accounts, device_links, identity_revocations (resolved as account_journeys). Folds min() over a String key (toString(ts), event_id, NUL, channel),
-- which orders exactly as the tuple does and avoids ClickHouse's slow generic Tuple path.
CREATE OR REPLACE VIEW {db}.account_first_touches AS
SELECT
    account_id,
    (first_ts, first_event_id, first_channel) AS earliest,
    toDateTime64(substring(first_key, 1, 23), 3, 'UTC') AS first_ts,
    substring(first_key, 24, position(first_key, '\0') - 24) AS first_event_id,
    substring(first_key, position(first_key, '\0') + 1) AS first_channel
FROM (
    SELECT multiIf(e.resolved_account != '', e.resolved_account,
                   r.void, '',
                   {revoked_account},
                   '', r.account_id) AS account_id,
           min(r.first_key) AS first_key
    FROM (
        -- The person as account_journeys resolves it: the row's own, unless its device is shared or that
        -- device edge revoked; else the device's.
        SELECT t.account_id AS account_id, t.first_key AS first_key,
               -- void: the row's person stamp no longer holds (a shared device, a revoked device edge); its
               -- stamped account goes with it, as the stream takes the touch back from that person.
               {void_stamp}
                   AS void,
               if(t.person_id != '' AND NOT void, t.person_id, d.resolved_person) AS person
        FROM (
            -- Fold parts not merged yet first (the sink adds one per batch): the joins then see one row per device.
            SELECT anonymous_id, person_id, account_id,
                   min(concat(toString(first_touch.1), first_touch.2, '\0', first_touch.3)) AS first_key
            FROM {db}.touch_devices
            GROUP BY anonymous_id, person_id, account_id
        ) AS t
        LEFT JOIN {db}.device_links AS d ON d.anonymous_id = t.anonymous_id
    ) AS r
    LEFT JOIN {db}.person_accounts AS e ON e.person_id = r.person
    WHERE account_id != ''
    GROUP BY account_id
);
