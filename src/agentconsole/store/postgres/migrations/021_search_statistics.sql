-- The 50 newest hits of a word, at scale. The planner reads them either by walking the
-- search keys newest first (right for a word in many messages) or from the GIN index and
-- sorted (right for a rare one), and chooses by the word's frequency in the statistics.
-- With the default sample a word in 0.1 % of the messages was not among the words whose
-- frequency is kept, so it was taken for five times as common and walked for: 38,000 rows
-- read for 50 hits at 100,000 messages (138 ms; 7 ms from the index). Five times the sample
-- keeps the frequency of words down to about 0.07 % of the messages; a rarer word is taken
-- for rarer than those, and read from the index. ANALYZE (autovacuum's, after a tenth of
-- the table changed) reads up to 150,000 documents for it: 2.4 s at 140,000 messages under
-- a load of 12 on 2 cores, against 30,000.
ALTER TABLE message_search ALTER COLUMN document SET STATISTICS 500;
-- New documents wait in the index's pending list until it is folded into the index
-- (fastupdate: a fifth of the CPU of inserting each into the index). Every lookup in the
-- index reads the whole pending list, so it is kept at 1 MB instead of 4 MB: a rare word's
-- lookup read up to 500 pages of it; inserting costs the same (46-54 µs a document either
-- way, measured).
ALTER INDEX message_search_document SET (gin_pending_list_limit = 1024);
-- Every query leaves merged conversations out with a NOT IN of this table, empty in most
-- stores. Never analyzed, PostgreSQL takes an empty table for ten pages (1,570 rows here)
-- and charges the lookup to every conversation a search joins, so a rare word's hits were
-- joined by reading all the conversations (Hash Join, 41 ms at 38,000 conversations, under
-- load) instead of looking up each (12 ms). Once analyzed, autovacuum keeps it current.
ANALYZE conversation_redirects;
