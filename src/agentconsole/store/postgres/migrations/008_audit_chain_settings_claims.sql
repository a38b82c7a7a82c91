-- The PostgreSQL twin of the SQLite migration 008: the real account beside the agent name
-- and the audit chain; the store's own settings; addresses claimed but not vouched for.
ALTER TABLE audit_log ADD COLUMN account text;
ALTER TABLE audit_log ADD COLUMN chain text;

CREATE TABLE store_settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE contact_claims (
    contact_id bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    namespace  text NOT NULL,
    address    text NOT NULL,
    claimed_at double precision NOT NULL,
    PRIMARY KEY (contact_id, namespace, address)
);
