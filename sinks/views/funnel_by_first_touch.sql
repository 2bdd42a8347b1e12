-- funnel_by_first_touch: accounts by the channel of their first touch, and how far each got within
-- `window_days` of that first touch: windowFunnel over first touch -> lead -> mql -> sql ->
-- opportunity -> closed_won (each step after the previous one). The period selects first touches.
-- Returns one row per first_touch_channel: accounts, leads, mqls, sqls, opportunities, closed_won,
-- win_rate. Parameters: since, until (first-touch date, [since, until)), window_days.
-- Reads account_first_touches, conversions FINAL (each account's conversions as one array, one pass).
CREATE OR REPLACE VIEW {db}.funnel_by_first_touch AS
WITH
    firsts AS (
        SELECT account_id, first_ts, first_channel
        FROM {db}.account_first_touches
        WHERE toDate(first_ts) >= {since:Date} AND toDate(first_ts) < {until:Date}
    ),
    stages AS (
        SELECT account_id, groupArray((ts, toString(stage))) AS steps
        FROM {db}.conversions FINAL
        WHERE account_id != ''
        GROUP BY account_id
    ),
    levels AS (
        SELECT any(f.first_channel) AS first_channel,
               windowFunnel(toUInt64({window_days:UInt32}) * 86400)(
                   toDateTime(step.1), step.2 = 'touch', step.2 = 'lead', step.2 = 'mql', step.2 = 'sql',
                   step.2 = 'opportunity', step.2 = 'closed_won') AS level
        FROM firsts AS f
        LEFT JOIN stages AS s ON s.account_id = f.account_id
        ARRAY JOIN arrayPushFront(s.steps, (f.first_ts, 'touch')) AS step
        GROUP BY f.account_id
    )
SELECT
    first_channel AS first_touch_channel,
    count() AS accounts,
    countIf(level >= 2) AS leads,
    countIf(level >= 3) AS mqls,
    countIf(level >= 4) AS sqls,
    countIf(level >= 5) AS opportunities,
    countIf(level >= 6) AS closed_won,
    closed_won / accounts AS win_rate
FROM levels
GROUP BY first_touch_channel
ORDER BY accounts DESC, first_touch_channel;
