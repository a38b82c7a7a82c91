-- A draft keeps the macro actions of the saved replies inserted into it (their names, tags
-- and status, as JSON), so they still apply when the draft is sent after a restart. NULL:
-- none. Deleting the draft (sending it, blanking it) drops them with it.
ALTER TABLE drafts ADD COLUMN macros text;
