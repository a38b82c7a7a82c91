-- The PostgreSQL twin of the SQLite migration 020: an agent's own replies, listed for
-- is:answered instead of every waiting conversation's messages being read.
CREATE INDEX messages_agent_replies ON messages (agent, conversation_id, sent_at)
    WHERE direction = 'out' AND agent IS NOT NULL;
