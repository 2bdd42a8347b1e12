-- identity_match_rate: how much of the data identity stitching ties to accounts (issue 18).
-- Returns one row: touches (journey touches of someone in the period: account_journeys rows with
-- in_journey and an anonymous id, person or account; public mentions nobody is tied to are left out),
-- resolved_touches (of those, resolved to an account the way account_journeys resolves them: the
-- person's latest account, else the account the touchpoint carries), touch_match_rate, conversions
-- (credited conversions whose conversion_ts is in the period, per stage and conversion id, from the
-- latest 'linear' credits), touched_conversions (those whose latest credits name at least one touch:
-- not only the '(none)' row, event_id '', of a conversion with no touch in its window — see 0007) and
-- conversion_match_rate; shared_devices (devices currently shared, shared_devices, whose people's first
-- identifications span the period: first_at before until, last_at on or after since) and held_edges (links
-- a guard held back, identity_edges rows with held != '', asserted in the period). A rate is NULL when
-- there is nothing to count.
-- Parameters: since, until (period [since, until) on the touch's and the conversion's date):
--   SELECT * FROM identity_match_rate(since = '2026-01-01', until = '2026-04-01')
-- Reads account_journeys (touchpoints FINAL, the identity maps), attribution_credits FINAL (credit != 0),
-- shared_devices and identity_edges FINAL.
CREATE OR REPLACE VIEW {db}.identity_match_rate AS
WITH
    touch AS (
        SELECT count() AS touches, countIf(account_id != '') AS resolved_touches
        FROM {db}.account_journeys
        WHERE in_journey AND (anonymous_id != '' OR person_id != '' OR account_id != '')
          AND toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}
    ),
    conversion AS (
        SELECT count() AS conversions, countIf(touched) AS touched_conversions
        FROM (
            SELECT stage, conversion_id, countIf(event_id != '') > 0 AS touched
            FROM {db}.attribution_credits FINAL
            WHERE model = 'linear' AND credit != 0
              AND toDate(conversion_ts) >= {since:Date} AND toDate(conversion_ts) < {until:Date}
            GROUP BY stage, conversion_id
        )
    ),
    shared AS (
        SELECT count() AS shared_devices
        FROM {db}.shared_devices
        WHERE toDate(first_at) < {until:Date} AND toDate(last_at) >= {since:Date}
    ),
    held AS (
        SELECT count() AS held_edges
        FROM {db}.identity_edges FINAL
        WHERE held != '' AND toDate(updated_at) >= {since:Date} AND toDate(updated_at) < {until:Date}
    )
SELECT
    touch.touches AS touches,
    touch.resolved_touches AS resolved_touches,
    touch.resolved_touches / nullIf(touch.touches, 0) AS touch_match_rate,
    conversion.conversions AS conversions,
    conversion.touched_conversions AS touched_conversions,
    conversion.touched_conversions / nullIf(conversion.conversions, 0) AS conversion_match_rate,
    shared.shared_devices AS shared_devices,
    held.held_edges AS held_edges
FROM touch
CROSS JOIN conversion
CROSS JOIN shared
CROSS JOIN held;
