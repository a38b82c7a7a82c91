-- SLA: each conversation's policy, its current target (first_response, next_response,
-- resolution), since when that target's clock runs, when it falls due, whether a target was
-- missed (0/1), and the pending spells that stopped its clocks (JSON [[from, to|null], ...]).
-- All derived: recomputed by agentconsole.store.sla_sql from the conversation and the
-- configured [[sla]] policies.
ALTER TABLE conversations ADD COLUMN sla_policy TEXT;
ALTER TABLE conversations ADD COLUMN sla_target TEXT;
ALTER TABLE conversations ADD COLUMN sla_started_at REAL;
ALTER TABLE conversations ADD COLUMN sla_due_at REAL;
ALTER TABLE conversations ADD COLUMN sla_breached INTEGER NOT NULL DEFAULT 0;
-- Next responses that came after they were due (they leave no other trace to recompute).
ALTER TABLE conversations ADD COLUMN sla_late_responses INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN sla_pauses TEXT;
-- When a bot handed the conversation to people ("handoff": true on the API channel).
ALTER TABLE conversations ADD COLUMN handed_off_at REAL;
-- Who wrote an outbound line seen on the channel: 'bot' or 'agent' (NULL: as the
-- direction says).
ALTER TABLE messages ADD COLUMN author_role TEXT;
-- "Breaching first" and sla:due< read the due times in order.
CREATE INDEX conversations_sla_due ON conversations(sla_due_at) WHERE sla_due_at IS NOT NULL;
-- SLA bookkeeping by name. "fingerprint": the policies the stored due times were computed
-- under (a digest of the [[sla]] tables and [business_hours]); other settings mean every
-- due time is computed again.
CREATE TABLE sla_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    changed_at REAL NOT NULL
);
