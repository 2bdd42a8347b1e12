-- device_people: identity map device -> person, the latest link wins (the same rule as account_journeys).
-- Returns one row per anonymous_id: resolved_person. No parameters. Reads identities.
CREATE OR REPLACE VIEW {db}.device_people AS
SELECT anonymous_id, argMax(person_id, updated_at) AS resolved_person
FROM {db}.identities
WHERE anonymous_id != ''
GROUP BY anonymous_id;
