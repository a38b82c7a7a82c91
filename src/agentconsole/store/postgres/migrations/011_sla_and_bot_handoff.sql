-- The PostgreSQL twin of sqlite/migrations/011_sla_and_bot_handoff.sql: SLA due times per
-- conversation (derived, see agentconsole.store.sla_sql), the bot hand-off time, who wrote
-- an outbound line seen on the channel, and the policies the due times were computed under.
ALTER TABLE conversations ADD COLUMN sla_policy text;
ALTER TABLE conversations ADD COLUMN sla_target text;
ALTER TABLE conversations ADD COLUMN sla_started_at double precision;
ALTER TABLE conversations ADD COLUMN sla_due_at double precision;
ALTER TABLE conversations ADD COLUMN sla_breached integer NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN sla_late_responses integer NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN sla_pauses text;
ALTER TABLE conversations ADD COLUMN handed_off_at double precision;
ALTER TABLE messages ADD COLUMN author_role text;
CREATE INDEX conversations_sla_due ON conversations(sla_due_at) WHERE sla_due_at IS NOT NULL;
CREATE TABLE sla_settings (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    changed_at double precision NOT NULL
);
