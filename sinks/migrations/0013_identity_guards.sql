-- Identity guards and undo (issue 18).
--   * held: why a guard held a link back ('' = applied): role_address, free_mail_domain,
--     shared_device (schemas/guards.py, schemas/identity_guards.yaml). Held links come on their own
--     topic (touchstream.identity-held) straight into identity_edges, so they are visible in the
--     merge log and never reach identities, whose latest-row-per-key would let a held link replace
--     an applied one. identities gets the column too (always '') because both take one record shape.
--   * identity_revocations: `touchstream identity split / unlink` (revoked = 1) and `relink`
--     (revoked = 0) of one edge; the latest row per edge decides. kind 'device': child = anonymous id,
--     parent = person; kind 'account': child = person, parent = account domain.
ALTER TABLE {db}.identities ADD COLUMN IF NOT EXISTS held LowCardinality(String) DEFAULT '';
ALTER TABLE {db}.identity_edges ADD COLUMN IF NOT EXISTS held LowCardinality(String) DEFAULT '';

CREATE TABLE IF NOT EXISTS {db}.identity_revocations
(
    kind        LowCardinality(String),
    child       String,
    parent      String,
    revoked     UInt8,
    at          DateTime64(3, 'UTC'),
    reason      String,
    actor       String
)
ENGINE = ReplacingMergeTree(at)
ORDER BY (kind, child, parent);
