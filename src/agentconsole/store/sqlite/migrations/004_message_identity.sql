-- A message's identity is (channel, external id, content digest): the same message delivered
-- again is stored once, a different message under a known id is stored too. The table is
-- rebuilt (SQLite's documented procedure; the runner turns foreign keys off around it) to
-- drop UNIQUE (channel_id, external_id). Rows stored before keep a NULL digest, which
-- matches any content: they go on deduplicating on their id alone.
CREATE TABLE messages_new (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    external_id     TEXT,            -- NULL for notes and for replies not yet delivered
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    author_name     TEXT NOT NULL,
    author_namespace TEXT,
    author_address  TEXT,
    contact_id      INTEGER REFERENCES contacts(id),
    agent           TEXT,
    sent_at         REAL NOT NULL,
    created_at      REAL NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    automated       INTEGER NOT NULL DEFAULT 0,
    parse_note      TEXT,
    url             TEXT,
    in_reply_to     TEXT,
    search_key      INTEGER NOT NULL UNIQUE,
    participants    TEXT,
    -- "scheme:hex" digest of the content (see agentconsole.store.identity); NULL for
    -- agents' messages and for rows stored before this migration.
    content_digest  TEXT
);
INSERT INTO messages_new(id, conversation_id, channel_id, external_id, direction, author_name,
    author_namespace, author_address, contact_id, agent, sent_at, created_at, subject, body,
    automated, parse_note, url, in_reply_to, search_key, participants)
SELECT id, conversation_id, channel_id, external_id, direction, author_name,
    author_namespace, author_address, contact_id, agent, sent_at, created_at, subject, body,
    automated, parse_note, url, in_reply_to, search_key, participants
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_conversation ON messages(conversation_id, sent_at);
-- The dedupe lookup (channel, external id) and the identity itself, enforced.
CREATE UNIQUE INDEX messages_identity ON messages(channel_id, external_id, content_digest);
