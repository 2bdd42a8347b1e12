-- person_accounts: identity map person -> account, the latest link wins (the same rule as account_journeys).
-- Returns one row per person_id: resolved_account. No parameters. Reads identities.
CREATE OR REPLACE VIEW {db}.person_accounts AS
SELECT person_id, argMax(account_id, updated_at) AS resolved_account
FROM {db}.identities
WHERE account_id != ''
GROUP BY person_id;
