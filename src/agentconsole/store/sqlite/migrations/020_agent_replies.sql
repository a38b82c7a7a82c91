-- is:answered (the hotlist's second step, "Needs attention") asks which waiting
-- conversations hold a reply of this agent older than the wait. Without this index each
-- waiting conversation's messages were read (0.3-0.4 s at 100,000 conversations, on every
-- hotlist read); with it, each is one probe. Customers' messages stay out of it, so ingest
-- of inbound mail does not pay for it. (direction is in the key so that the probe reads
-- the index alone: SQLite checks the term again even though the WHERE implies it.)
CREATE INDEX messages_agent_replies ON messages(agent, conversation_id, sent_at, direction)
    WHERE direction = 'out' AND agent IS NOT NULL;
