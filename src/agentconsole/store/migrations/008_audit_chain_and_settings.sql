-- Who did it, truthfully, and a tamper-evident audit log (see store/audit_chain.py):
-- `account` is the Unix account of the process (from its effective uid), beside the agent
-- name shown; `chain` is the SHA-256 linking each entry to the one before it. Entries from
-- before this migration are linked by the first entry written after it.
ALTER TABLE audit_log ADD COLUMN account TEXT;
ALTER TABLE audit_log ADD COLUMN chain TEXT;

-- Settings of the store itself, kept with the data they govern (e.g. whether agents of a
-- team store may act under an alias; where the audit chain ends).
CREATE TABLE store_settings (
    key             TEXT PRIMARY KEY,
    value           TEXT NOT NULL
);
