-- identity_match_rate: how much of the data identity stitching ties to accounts (issue 18).
-- Returns one row: touches (journey touches of someone in the period: account_journeys rows with
-- in_journey and an anonymous id, person or account; public mentions nobody is tied to are left out),
-- resolved_touches (of those, resolved to an account the way account_journeys resolves them: the
-- person's latest account, else the account the touchpoint carries), touch_match_rate, conversions
-- (credited conversions whose conversion_ts is in the period, per stage and conversion id, from the
-- latest 'linear' credits), touched_conversions (those whose latest credits name at least one touch:
-- not only the '(none)' row, event_id '', of a conversion with no touch in its window — see 0007) and
-- conversion_match_rate. A rate is NULL when there is nothing to count.
-- Parameters: since, until (period [since, until) on the touch's and the conversion's date):
--   SELECT * FROM identity_match_rate(since = '2026-01-01', until = '2026-04-01')
-- Reads account_journeys (touchpoints FINAL, identities) and attribution_credits FINAL (credit != 0).
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
    )
SELECT
    touch.touches AS touches,
    touch.resolved_touches AS resolved_touches,
    touch.resolved_touches / nullIf(touch.touches, 0) AS touch_match_rate,
    conversion.conversions AS conversions,
    conversion.touched_conversions AS touched_conversions,
    conversion.touched_conversions / nullIf(conversion.conversions, 0) AS conversion_match_rate
FROM touch
CROSS JOIN conversion;
