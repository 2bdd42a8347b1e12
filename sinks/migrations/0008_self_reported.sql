-- Self-reported attribution (issue 20): the "How did you hear about us?" answer of a form submission,
-- as typed (self_reported, up to 512 characters) and the channel the stream mapped it to
-- (self_reported_channel: a channel name, 'unknown' when no keyword of the mapping matched, '' when the
-- form did not ask). Both live on the form_submit touchpoint, so a redelivered submission replaces
-- itself like every touchpoint (ReplacingMergeTree, same key) and erasure removes the answer with it.
-- Rows written before this migration read as '' (not asked). Read by the self_reported_by_channel view.
ALTER TABLE {db}.touchpoints ADD COLUMN IF NOT EXISTS self_reported String DEFAULT '' AFTER reach;
ALTER TABLE {db}.touchpoints ADD COLUMN IF NOT EXISTS self_reported_channel LowCardinality(String) DEFAULT '' AFTER self_reported;
