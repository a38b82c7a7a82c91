-- The other people a message was addressed to (To/Cc), as a JSON list of
-- [namespace, address] pairs: replies copy them.
ALTER TABLE messages ADD COLUMN participants TEXT;
