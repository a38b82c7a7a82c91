-- The audit log's account column is the server's word, not the client's: for every role but
-- the store's owner (and superusers, who hold every role), the row records the session's
-- login role whatever the client sent. The owner keeps what it brings, so
-- `agentconsole store migrate` can copy an audit log in as it was written.
CREATE FUNCTION agentconsole_audit_account() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_has_role(
        current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE'
    ) THEN
        NEW.account := session_user;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_account BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION agentconsole_audit_account();
