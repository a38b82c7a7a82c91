-- Rules (issue 12). Round robin remembers, per team, whom it assigned last, so turns are fair
-- across restarts and processes; hook commands are queued in the transaction that ran the
-- rule and run after it committed (never inside it, never blocking ingest).
CREATE TABLE rule_rotation (
    team        TEXT PRIMARY KEY,
    last_agent  TEXT NOT NULL,
    updated_at  REAL NOT NULL
);

CREATE TABLE rule_hooks (
    id              INTEGER PRIMARY KEY,
    rule            TEXT NOT NULL,
    event           TEXT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    command         TEXT NOT NULL,
    created_at      REAL NOT NULL,
    -- queued, running (claimed until claimed_until), done or failed
    state           TEXT NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'done', 'failed')),
    claimed_until   REAL,
    finished_at     REAL,
    error           TEXT
);
CREATE INDEX rule_hooks_due ON rule_hooks(state, id);
-- "has a rule replied here today?": the audit entries of one action on one conversation.
CREATE INDEX audit_action ON audit_log(conversation_id, action, at);

-- Spam: a conversation marked spam leaves every queue view (queries hide it unless they ask
-- for is:spam); its sender is blocked on that channel, so later mail goes straight there.
ALTER TABLE conversations ADD COLUMN spam INTEGER NOT NULL DEFAULT 0;
-- The few spam conversations by id: "not spam" stays a lookup beside any covering index
-- (a count of a view keeps reading its index only), and "is there any spam?" is instant.
CREATE INDEX conversations_spam ON conversations(id) WHERE spam = 1;
CREATE TABLE blocked_senders (
    channel_id  INTEGER NOT NULL REFERENCES channels(id),
    namespace   TEXT NOT NULL,
    address     TEXT NOT NULL,
    agent       TEXT NOT NULL,
    created_at  REAL NOT NULL,
    -- the conversation that was marked spam (unspam unblocks what it blocked)
    conversation_id INTEGER REFERENCES conversations(id),
    PRIMARY KEY (channel_id, namespace, address)
);
