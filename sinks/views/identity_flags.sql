-- identity_flags: the ids of the identity graph worth a look (issue 18, schemas/identity_guards.yaml).
-- Returns one row per flagged id: kind, id, count, first_at, last_at.
--   * kind 'shared_device', id an anonymous id: a device the shared-device guard unlinks (shared_devices);
--     count = the people counted on it, first_at / last_at = the earliest / latest of their first
--     identifications on it.
--   * kind 'person_many_accounts', id a person id: a person linked to more than person_max_accounts
--     distinct accounts by applied, non-revoked account edges (identity_edges with anonymous_id = '',
--     held = ''; identity_revocations); count = those accounts, first_at / last_at = the earliest / latest
--     of their edges. A flag only: the person keeps their current account. person_max_accounts = 0: none.
-- No parameters: the thresholds are the guard file's (TOUCHSTREAM_IDENTITY_GUARDS), baked in when views
-- are applied. Reads shared_devices, identity_edges, identity_revocations FINAL.
CREATE OR REPLACE VIEW {db}.identity_flags AS
SELECT 'shared_device' AS kind, anonymous_id AS id, people AS count, first_at, last_at
FROM {db}.shared_devices
UNION ALL
SELECT 'person_many_accounts' AS kind, person_id AS id, count() AS count, min(first_edge) AS first_at,
       max(last_edge) AS last_at
FROM (
    SELECT person_id, account_id, min(updated_at) AS first_edge, max(updated_at) AS last_edge
    FROM {db}.identity_edges
    WHERE {person_max_accounts} > 0 AND anonymous_id = '' AND held = '' AND account_id != ''
      AND (person_id, account_id) NOT IN (
          SELECT child, parent FROM {db}.identity_revocations FINAL WHERE kind = 'account' AND revoked = 1)
    GROUP BY person_id, account_id
)
GROUP BY person_id
HAVING count() > {person_max_accounts};
