-- self_reported_by_channel: what buyers say brought them ("How did you hear about us?" on forms and on
-- CRM contacts) next to what the pixel saw first (first-touch credit), per channel, so the two shares
-- stand side by side: "podcast: 4 % of first-touch credit, 22 % of self-reported".
-- Returns one row per channel holding an answer or first-touch credit in the period: respondents (people
-- whose first answer in the period maps to the channel; a person is person_id, else anonymous_id),
-- self_reported_share (of all respondents), first_touch_conversions (sum of model 'first' credit at the
-- stage) and first_touch_share (of all first-touch credit, '(none)' included). Answers no keyword of the
-- mapping matched are the channel 'unknown' (attribution/self_reported.yaml, TOUCHSTREAM_SELF_REPORTED_MAP).
-- A share is NULL when nothing was answered / credited in the period.
-- Parameters: stage, since, until (period [since, until) on the answer's and the conversion's date):
--   SELECT * FROM self_reported_by_channel(stage = 'lead', since = '2026-01-01', until = '2026-04-01')
-- Reads self_reports FINAL (form and CRM answers, bots' forms left out, migration 0012) and
-- attribution_credits FINAL (credit != 0: a retracted touch no longer counts, see 0007).
CREATE OR REPLACE VIEW {db}.self_reported_by_channel AS
WITH
    answers AS (
        SELECT respondent, argMin(answer_channel, (ts, event_id)) AS channel
        FROM (
            SELECT
                if(person_id != '', person_id, if(anonymous_id != '', anonymous_id, event_id)) AS respondent,
                toString(channel) AS answer_channel,
                ts,
                event_id
            FROM {db}.self_reports FINAL
            WHERE toDate(ts) >= {since:Date} AND toDate(ts) < {until:Date}
        )
        GROUP BY respondent
    ),
    reported AS (
        SELECT channel, count() AS respondents
        FROM answers
        GROUP BY channel
    ),
    credited AS (
        SELECT toString(channel) AS channel, sum(credit) AS first_touch_conversions
        FROM {db}.attribution_credits FINAL
        WHERE model = 'first' AND stage = {stage:String} AND credit != 0
          AND toDate(conversion_ts) >= {since:Date} AND toDate(conversion_ts) < {until:Date}
        GROUP BY channel
    )
SELECT
    channel,
    respondents,
    respondents / nullIf(sum(respondents) OVER (), 0) AS self_reported_share,
    first_touch_conversions,
    first_touch_conversions / nullIf(sum(first_touch_conversions) OVER (), 0) AS first_touch_share
FROM (
    SELECT
        channel,
        reported.respondents AS respondents,
        credited.first_touch_conversions AS first_touch_conversions
    FROM reported
    FULL OUTER JOIN credited USING (channel)
)
ORDER BY respondents DESC, first_touch_conversions DESC, channel
SETTINGS join_use_nulls = 0;
