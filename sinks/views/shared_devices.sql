-- shared_devices: the devices the shared-device guard unlinks (issue 18, schemas/identity_guards.yaml
-- shared_device): a device first identified by more than max_people different people within any
-- window_days is linked to none of them, the same rule as the stream (schemas.guards.IdentityGuards.shared).
-- Per person P of device A, t_P = the first time an applied edge named A -> P (a held role address is no
-- person, as the stream does not count it either); pairs currently revoked (`touchstream identity
-- split`, identity_revocations) do not count. A is shared when,
-- with the t_P sorted, some t[i + max_people] - t[i] <= window_days. max_people = 0 turns it off.
-- Returns one row per shared device: anonymous_id, people (people counted on it), first_at and last_at
-- (the earliest and latest t_P). No parameters: max_people and window_days are the guard file's
-- (TOUCHSTREAM_IDENTITY_GUARDS) at the last `touchstream migrate` / start, baked in when views are applied.
-- Reads identities (candidates), identity_edges (duplicates of an edge do not change min()), identity_revocations FINAL.
CREATE OR REPLACE VIEW {db}.shared_devices AS
SELECT anonymous_id, length(firsts) AS people, firsts[1] AS first_at, firsts[-1] AS last_at
FROM (
    SELECT anonymous_id, arraySort(groupArray(first_at)) AS firsts
    FROM (
        SELECT anonymous_id, person_id, min(updated_at) AS first_at
        FROM {db}.identity_edges
        -- Only devices with more than max_people links can be shared: found in identities (one row per
        -- device and person once merged, a superset before), which keeps this view cheap (~65 ms at 500k
        -- devices, against ~115 ms for grouping every edge).
        WHERE {shared_max_people} > 0 AND anonymous_id IN (
                  SELECT anonymous_id FROM {db}.identities WHERE anonymous_id != '' GROUP BY anonymous_id
                  HAVING count() > {shared_max_people})
          AND person_id != '' AND held = ''
          AND (anonymous_id, person_id) NOT IN (
              SELECT child, parent FROM {db}.identity_revocations FINAL WHERE kind = 'device' AND revoked = 1)
        GROUP BY anonymous_id, person_id
    )
    GROUP BY anonymous_id
    HAVING length(firsts) > {shared_max_people}
)
WHERE arrayExists(
    i -> dateDiff('millisecond', firsts[i], firsts[i + {shared_max_people}]) <= {shared_window_ms},
    range(1, length(firsts) - {shared_max_people} + 1));
