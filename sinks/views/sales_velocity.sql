-- sales_velocity: for known accounts (at least one identified touchpoint: account_first_touches),
-- opportunities created in the period and their four factors: count, win rate (won / closed), average
-- won deal, average days from opportunity to close; velocity = opportunities * win_rate * avg_deal /
-- cycle_days (per day).
-- Returns one row: opportunities, win_rate, avg_deal, cycle_days, velocity_per_day.
-- Parameters: since, until (the account's first opportunity date, [since, until)).
-- Reads conversions FINAL, account_first_touches.
CREATE OR REPLACE VIEW {db}.sales_velocity AS
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
        WHERE account_id IN (SELECT account_id FROM {db}.account_first_touches)
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
