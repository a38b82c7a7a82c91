-- The PostgreSQL twin of the SQLite migration 013: merging two contacts moves the merged
-- one's messages through an index instead of reading every message of the store.
CREATE INDEX messages_contact ON messages(contact_id) WHERE contact_id IS NOT NULL;
