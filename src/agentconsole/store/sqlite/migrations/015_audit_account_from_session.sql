-- PostgreSQL's twin makes the server write the audit account from the session's role. A
-- SQLite file has no sessions (its permissions say who may write it), so nothing changes
-- here; the number keeps the two lists one.
SELECT 1;
