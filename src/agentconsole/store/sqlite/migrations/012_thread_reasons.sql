-- Why each message joined its conversation (explainable threading), and what merges,
-- splits and moves did, so each can be undone exactly. Rows stored before this keep a NULL
-- reason: shown as "unknown (stored before reasons were kept)".
-- thread_reason is a stable code (references, sibling, referenced_by, same_id, token,
-- thread_key, first, agent, moved, split, merged); thread_reason_detail what it names
-- (the Message-ID, the token, the thread key, the conversation it came from, who did it).
ALTER TABLE messages ADD COLUMN thread_reason TEXT;
ALTER TABLE messages ADD COLUMN thread_reason_detail TEXT;

-- A chat or forum conversation split off another answers on the channel thread of the one
-- it came from (the thread key itself stays unique to one conversation).
ALTER TABLE conversations ADD COLUMN reply_thread_key TEXT;

-- Every merge, split and move, with what it changed (JSON), so an undo puts back exactly
-- what was there. source_id is where messages came from, target_id where they went.
CREATE TABLE threading_changes (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind IN ('merge', 'split', 'move')),
    at        REAL NOT NULL,
    agent     TEXT NOT NULL,
    source_id INTEGER NOT NULL REFERENCES conversations(id),
    target_id INTEGER NOT NULL REFERENCES conversations(id),
    detail    TEXT NOT NULL,
    undone_at REAL,
    undone_by TEXT
);
CREATE INDEX threading_changes_source ON threading_changes(source_id);
CREATE INDEX threading_changes_target ON threading_changes(target_id);

-- A conversation merged into another (or a split undone) points to where its messages went:
-- opening or acting on it goes there, and it leaves every view.
CREATE TABLE conversation_redirects (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id),
    target_id       INTEGER NOT NULL REFERENCES conversations(id),
    change_id       INTEGER NOT NULL REFERENCES threading_changes(id)
);
