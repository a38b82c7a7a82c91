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

-- Addresses a channel reported for a person without vouching for them (an API payload's
-- email without "email_verified": true): shown on the contact as claimed, never used to
-- merge contacts; an agent links them by hand.
CREATE TABLE contact_claims (
    contact_id      INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    namespace       TEXT NOT NULL,
    address         TEXT NOT NULL,
    claimed_at      REAL NOT NULL,
    PRIMARY KEY (contact_id, namespace, address)
);
