-- The sidebar's counts read indexes alone. Two lookups per counted row cost more than the
-- counts themselves at 100,000 conversations: the redirect list probed for each one (a
-- merged conversation leaves every view), and for a tag view, each tagged conversation's
-- row read for its status (6 tag views: 68 of 94 ms).
--
-- So a conversation carries "redirected" as a flag beside "spam" (kept by the triggers
-- below from conversation_redirects, the record of what was merged where), the counting
-- indexes leave both out, and each tag row carries its conversation's status, spam and
-- redirected flags (kept by triggers from conversations): a tag view's count is a range
-- of the tag's own index.
ALTER TABLE conversations ADD COLUMN redirected INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET redirected = 1
    WHERE id IN (SELECT conversation_id FROM conversation_redirects);

ALTER TABLE conversation_tags ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE conversation_tags ADD COLUMN spam INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversation_tags ADD COLUMN redirected INTEGER NOT NULL DEFAULT 0;
UPDATE conversation_tags SET (status, spam, redirected) = (
    SELECT c.status, c.spam, c.redirected FROM conversations c
    WHERE c.id = conversation_tags.conversation_id
);

CREATE TRIGGER conversations_redirect_added AFTER INSERT ON conversation_redirects
BEGIN
    UPDATE conversations SET redirected = 1 WHERE id = NEW.conversation_id;
END;
CREATE TRIGGER conversations_redirect_removed AFTER DELETE ON conversation_redirects
BEGIN
    UPDATE conversations SET redirected = 0 WHERE id = OLD.conversation_id;
END;
CREATE TRIGGER conversations_redirect_moved AFTER UPDATE OF conversation_id
    ON conversation_redirects
BEGIN
    UPDATE conversations SET redirected = 0 WHERE id = OLD.conversation_id;
    UPDATE conversations SET redirected = 1 WHERE id = NEW.conversation_id;
END;

CREATE TRIGGER conversation_tags_take_state AFTER INSERT ON conversation_tags
BEGIN
    UPDATE conversation_tags SET (status, spam, redirected) = (
        SELECT c.status, c.spam, c.redirected FROM conversations c
        WHERE c.id = NEW.conversation_id
    )
    WHERE conversation_id = NEW.conversation_id AND tag = NEW.tag;
END;
CREATE TRIGGER conversation_tags_follow_state AFTER UPDATE OF status, spam, redirected
    ON conversations
    WHEN NEW.status IS NOT OLD.status OR NEW.spam IS NOT OLD.spam
        OR NEW.redirected IS NOT OLD.redirected
BEGIN
    UPDATE conversation_tags
        SET status = NEW.status, spam = NEW.spam, redirected = NEW.redirected
        WHERE conversation_id = NEW.id;
END;

-- Migration 014's counting indexes, now leaving redirected conversations out too (both
-- flags listed, so SQLite reads no row).
DROP INDEX conversations_status_counted;
DROP INDEX conversations_assignee_counted;
DROP INDEX conversations_channel_counted;
CREATE INDEX conversations_status_counted ON conversations(status, spam, redirected)
    WHERE spam = 0 AND redirected = 0;
CREATE INDEX conversations_assignee_counted ON conversations(assignee, status, spam, redirected)
    WHERE spam = 0 AND redirected = 0;
CREATE INDEX conversations_channel_counted
    ON conversations(channel_id, status, spam, redirected)
    WHERE spam = 0 AND redirected = 0;
-- The Spam view's count, and a tag view's.
CREATE INDEX conversations_spam_counted ON conversations(spam, redirected)
    WHERE spam = 1 AND redirected = 0;
CREATE INDEX conversation_tags_counted ON conversation_tags(tag, status, spam, redirected)
    WHERE spam = 0 AND redirected = 0;
