-- device_people: identity map device -> person, the latest link wins (the same rule as account_journeys
-- and the stream): per device, argMax(person_id, (updated_at, person_id)) over its identities rows whose
-- pair is not revoked (`touchstream identity split`, identity_revocations: the latest row per edge
-- decides). A shared device (shared_devices) and a device whose edges are all revoked have no row.
-- Returns one row per anonymous_id: resolved_person. No parameters. Reads device_links.
CREATE OR REPLACE VIEW {db}.device_people AS
SELECT anonymous_id, resolved_person
FROM {db}.device_links
WHERE resolved_person != '';
