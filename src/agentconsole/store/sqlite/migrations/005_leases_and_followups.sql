-- Who holds a channel's lease, precisely enough for a process on the same host to see that
-- the holder died and take over at once: host name, pid and start
-- ("<boot id>/<pid namespace>:<ticks>"),
-- so a reused pid is never mistaken for the owner.
ALTER TABLE channels ADD COLUMN lease_host TEXT;
ALTER TABLE channels ADD COLUMN lease_pid INTEGER;
ALTER TABLE channels ADD COLUMN lease_started TEXT;

-- The work left once a channel accepted a reply (email: filing the sent message in the Sent
-- folder). Recorded with the "sent" state in one transaction and retried on its own
-- schedule: never a reason to send the reply again.
CREATE TABLE outbox_followups (
    outbox_id       INTEGER PRIMARY KEY REFERENCES outbox(id),
    data            BLOB NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT,
    done_at         REAL
);
CREATE INDEX outbox_followups_due ON outbox_followups(done_at, next_attempt_at);
