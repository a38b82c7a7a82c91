-- The queue's order without the status first, so a query that is not about one status
-- ("waiting:>4h", "is:unassigned", "has:draft") walks its first rows in order instead of
-- sorting every match.
CREATE INDEX conversations_queue_order_any ON conversations(
    priority, waiting_since IS NULL, waiting_since, last_message_at DESC, id DESC
);
