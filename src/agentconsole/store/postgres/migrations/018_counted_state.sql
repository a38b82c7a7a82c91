-- The PostgreSQL twin of the SQLite migration 018: a conversation carries "redirected" as a
-- flag beside "spam" (kept from conversation_redirects by triggers), each tag row carries
-- its conversation's status, spam and redirected flags (kept from conversations), and the
-- counting indexes leave spam and redirected conversations out, so the sidebar's counts
-- read ranges of indexes instead of probing a list or a row for each conversation counted.
ALTER TABLE conversations ADD COLUMN redirected integer NOT NULL DEFAULT 0;
UPDATE conversations SET redirected = 1
    WHERE id IN (SELECT conversation_id FROM conversation_redirects);

ALTER TABLE conversation_tags ADD COLUMN status text NOT NULL DEFAULT 'open';
ALTER TABLE conversation_tags ADD COLUMN spam integer NOT NULL DEFAULT 0;
ALTER TABLE conversation_tags ADD COLUMN redirected integer NOT NULL DEFAULT 0;
UPDATE conversation_tags t SET status = c.status, spam = c.spam, redirected = c.redirected
    FROM conversations c WHERE c.id = t.conversation_id;

CREATE FUNCTION agentconsole_redirect_flag() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE conversations SET redirected = 0 WHERE id = OLD.conversation_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE conversations SET redirected = 1 WHERE id = NEW.conversation_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversations_redirect_flag
    AFTER INSERT OR DELETE OR UPDATE OF conversation_id ON conversation_redirects
    FOR EACH ROW EXECUTE FUNCTION agentconsole_redirect_flag();

CREATE FUNCTION agentconsole_tag_takes_state() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.status, c.spam, c.redirected INTO NEW.status, NEW.spam, NEW.redirected
        FROM conversations c WHERE c.id = NEW.conversation_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER conversation_tags_take_state
    BEFORE INSERT OR UPDATE OF conversation_id ON conversation_tags
    FOR EACH ROW EXECUTE FUNCTION agentconsole_tag_takes_state();

CREATE FUNCTION agentconsole_tags_follow_state() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversation_tags
        SET status = NEW.status, spam = NEW.spam, redirected = NEW.redirected
        WHERE conversation_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversation_tags_follow_state
    AFTER UPDATE OF status, spam, redirected ON conversations
    FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.spam IS DISTINCT FROM OLD.spam
          OR NEW.redirected IS DISTINCT FROM OLD.redirected)
    EXECUTE FUNCTION agentconsole_tags_follow_state();

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
CREATE INDEX conversations_spam_counted ON conversations(spam, redirected)
    WHERE spam = 1 AND redirected = 0;
CREATE INDEX conversation_tags_counted ON conversation_tags(tag, status, spam, redirected)
    WHERE spam = 0 AND redirected = 0;
