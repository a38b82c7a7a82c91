-- Merging two contacts moves the merged one's messages (ingest does it when an identity
-- links two known contacts): without this index that UPDATE read every message of the
-- store. Agents' lines carry no contact and stay out of it.
CREATE INDEX messages_contact ON messages(contact_id) WHERE contact_id IS NOT NULL;
