-- device_links: every device's person as the resolution views see it, with its shared flag (issue 18).
-- Returns one row per anonymous_id with identity rows: resolved_person (the latest person of the device by
-- (updated_at, person_id) whose edge is not revoked; '' for a shared device or one whose edges are all
-- revoked) and shared (1: shared_devices has it, so no touch of it keeps the person it was stamped with).
-- The views that resolve touches join this once, instead of testing every touch against shared_devices.
-- No parameters. Reads identities, identity_revocations FINAL, shared_devices.
CREATE OR REPLACE VIEW {db}.device_links AS
SELECT anonymous_id, if(shared, '', person) AS resolved_person, shared
FROM (
    SELECT anonymous_id, argMax(person_id, (updated_at, person_id)) AS person,
           anonymous_id IN (SELECT anonymous_id FROM {db}.shared_devices) AS shared
    FROM {db}.identities
    WHERE anonymous_id != ''
      AND ((SELECT count() FROM {db}.identity_revocations FINAL WHERE kind = 'device' AND revoked = 1) = 0
           OR (anonymous_id, person_id) NOT IN (
               SELECT child, parent FROM {db}.identity_revocations FINAL WHERE kind = 'device' AND revoked = 1))
    GROUP BY anonymous_id
);
