-- PostgreSQL's twin tunes the planner's statistics and the pending list of its full-text
-- index. SQLite's FTS5 index has neither (its segments are merged by store/search_upkeep.py),
-- so nothing changes here; the number keeps the two lists one.
SELECT 1;
