-- The PostgreSQL twin of the SQLite migration 014: indexes that leave spam out, for the
-- sidebar's counts ("c.spam = 0": every view but Spam hides it).
CREATE INDEX conversations_status_counted ON conversations(status, spam) WHERE spam = 0;
CREATE INDEX conversations_assignee_counted ON conversations(assignee, status, spam)
    WHERE spam = 0;
CREATE INDEX conversations_channel_counted ON conversations(channel_id, status, spam)
    WHERE spam = 0;
