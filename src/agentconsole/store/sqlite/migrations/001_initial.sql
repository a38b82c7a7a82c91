-- The first schema. Times are UTC seconds since the epoch (REAL); priority is a rank
-- (0 urgent .. 3 low) so "most urgent first" is a plain ORDER BY.

CREATE TABLE channels (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('email', 'chat', 'forum')),
    health        TEXT NOT NULL DEFAULT 'idle',
    health_detail TEXT,
    health_at     REAL,
    cursor        TEXT,
    lease_owner   TEXT,
    lease_expires REAL
);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at REAL NOT NULL
);

-- One row per address a person is known by; (namespace, address) is one person.
CREATE TABLE identities (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    namespace  TEXT NOT NULL,
    address    TEXT NOT NULL,
    UNIQUE (namespace, address)
);
CREATE INDEX identities_contact ON identities(contact_id);

-- Every merge is recorded so it can be undone identity by identity.
CREATE TABLE contact_merges (
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    agent       TEXT NOT NULL,
    kept_id     INTEGER NOT NULL REFERENCES contacts(id),
    merged_id   INTEGER NOT NULL REFERENCES contacts(id),
    identities  TEXT NOT NULL,      -- JSON list of identity ids moved
    conversations TEXT NOT NULL     -- JSON list of conversation ids moved
);

CREATE TABLE conversations (
    id                INTEGER PRIMARY KEY,
    channel_id        INTEGER NOT NULL REFERENCES channels(id),
    thread_key        TEXT,
    contact_id        INTEGER NOT NULL REFERENCES contacts(id),
    subject           TEXT NOT NULL DEFAULT '',
    preview           TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'pending', 'snoozed', 'closed')),
    priority          INTEGER NOT NULL DEFAULT 2 CHECK (priority BETWEEN 0 AND 3),
    assignee          TEXT,
    snooze_until      REAL,
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL,
    last_message_at   REAL NOT NULL,
    waiting_since     REAL,          -- oldest unanswered customer message; NULL once answered
    first_response_at REAL,
    resolved_at       REAL,
    message_count     INTEGER NOT NULL DEFAULT 0,
    url               TEXT,
    UNIQUE (channel_id, thread_key)
);
CREATE INDEX conversations_queue ON conversations(status, priority, waiting_since, last_message_at);
CREATE INDEX conversations_assignee ON conversations(assignee, status);
CREATE INDEX conversations_channel ON conversations(channel_id, status);
CREATE INDEX conversations_contact ON conversations(contact_id);
CREATE INDEX conversations_snoozed ON conversations(snooze_until) WHERE status = 'snoozed';

CREATE TABLE conversation_tags (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    tag             TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
) WITHOUT ROWID;
CREATE INDEX conversation_tags_tag ON conversation_tags(tag);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    external_id     TEXT,            -- NULL for notes and for replies not yet delivered
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    author_name     TEXT NOT NULL,
    -- The address the author wrote from (replies go back to it).
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
    -- Time-ordered, unique: the full-text index's rowid, so "newest hits first" walks the
    -- index in order instead of sorting every hit.
    search_key      INTEGER NOT NULL UNIQUE,
    UNIQUE (channel_id, external_id)
);
CREATE INDEX messages_conversation ON messages(conversation_id, sent_at);

-- External ids a message refers to (In-Reply-To / References), for threading later mail.
CREATE TABLE message_refs (
    message_id  INTEGER NOT NULL REFERENCES messages(id),
    external_id TEXT NOT NULL,
    PRIMARY KEY (message_id, external_id)
) WITHOUT ROWID;

-- The original bytes as the channel delivered them; kept apart so rows stay small.
CREATE TABLE raw_messages (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id),
    raw        BLOB NOT NULL
);

-- Attachment content, addressed by its SHA-256: stored once however often it is sent.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size   INTEGER NOT NULL,
    data   BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES messages(id),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL REFERENCES blobs(sha256)
);
CREATE INDEX attachments_message ON attachments(message_id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL UNIQUE REFERENCES messages(id),
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    idempotency_key TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT,
    created_at      REAL NOT NULL,
    sent_at         REAL
);
CREATE INDEX outbox_due ON outbox(channel_id, state, next_attempt_at);

CREATE TABLE drafts (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    agent           TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('reply', 'note')),
    body            TEXT NOT NULL,
    updated_at      REAL NOT NULL,
    PRIMARY KEY (conversation_id, agent, kind)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    at              REAL NOT NULL,
    agent           TEXT NOT NULL,
    action          TEXT NOT NULL,
    conversation_id INTEGER REFERENCES conversations(id),
    detail          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_conversation ON audit_log(conversation_id);

-- Contentless: the text lives in messages; rowid = messages.search_key.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    subject, body, author,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE INDEX message_refs_external ON message_refs(external_id);
