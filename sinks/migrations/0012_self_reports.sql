-- Self-reported attribution from forms and CRM alike (issue 20): one row per event that carried a
-- "How did you hear about us?" answer. Until now answers lived only on form_submit touchpoints (0008),
-- so a CRM contact's answer (HubSpot / Salesforce field, TOUCHSTREAM_SELF_REPORTED_FIELDS) was accepted
-- and then dropped: a crm_stage event makes a conversion, not a touchpoint, and a CRM 'lead' after a
-- lead form is not counted as a conversion at all, yet its answer is still a fact about the buyer.
--   * source: 'form' or 'crm'. person_id / account_id: as the stream stitched the event.
--   * answer: as typed (up to 512 characters); channel: the mapped channel, 'unknown' when no keyword
--     of the mapping matched (attribution/self_reported.yaml, TOUCHSTREAM_SELF_REPORTED_MAP).
--   * ReplacingMergeTree on event_id: a redelivered record replaces itself; read with FINAL.
--   * Backfill: the form answers already on touchpoints. touchpoints keeps its columns (0008) for
--     analysts' existing queries; self_reported_by_channel reads this table from now on.
-- Erasure (`touchstream forget`) deletes the person's rows here too (sinks/erasure.py).
CREATE TABLE IF NOT EXISTS {db}.self_reports
(
    event_id     String,
    ts           DateTime64(3, 'UTC'),
    source       LowCardinality(String),
    anonymous_id String,
    person_id    String,
    account_id   String,
    answer       String,
    channel      LowCardinality(String),
    inserted_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (source, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO {db}.self_reports (event_id, ts, source, anonymous_id, person_id, account_id, answer, channel)
SELECT event_id, ts, 'form', anonymous_id, person_id, account_id, self_reported, self_reported_channel
FROM {db}.touchpoints FINAL
WHERE type = 'form_submit' AND self_reported_channel != '' AND NOT is_bot;
