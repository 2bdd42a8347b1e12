-- person_accounts: identity map person -> account, the latest link wins (the same rule as account_journeys
-- and the stream): per person, argMax(account_id, (updated_at, account_id)) over the applied account
-- edges of the merge log (identity_edges rows with anonymous_id = '', held = '') whose pair is not revoked
-- (`touchstream identity unlink`, identity_revocations: the latest row per edge decides). The merge log,
-- not identities, because identities keeps only a person's latest account edge: after it is revoked the
-- person falls back to the previous one. Held edges (a free-mail domain as account) never count.
-- Returns one row per person_id: resolved_account. No parameters. Reads identity_edges (duplicates of an
-- edge do not change argMax), identity_revocations FINAL.
CREATE OR REPLACE VIEW {db}.person_accounts AS
SELECT person_id, argMax(account_id, (updated_at, account_id)) AS resolved_account
FROM {db}.identity_edges
WHERE anonymous_id = '' AND held = '' AND account_id != ''
  AND (person_id, account_id) NOT IN (
      SELECT child, parent FROM {db}.identity_revocations FINAL WHERE kind = 'account' AND revoked = 1)
GROUP BY person_id;
