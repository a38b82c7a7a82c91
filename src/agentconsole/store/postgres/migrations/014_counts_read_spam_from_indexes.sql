-- The PostgreSQL twin of the SQLite migration 014: the sidebar's counts read spam from
-- the index they count ("status = ? AND spam = 0" is one range), instead of checking the
-- spam list for every conversation counted.
CREATE INDEX conversations_status_spam ON conversations(status, spam);
DROP INDEX conversations_assignee;
CREATE INDEX conversations_assignee ON conversations(assignee, status, spam);
DROP INDEX conversations_channel;
CREATE INDEX conversations_channel ON conversations(channel_id, status, spam);
