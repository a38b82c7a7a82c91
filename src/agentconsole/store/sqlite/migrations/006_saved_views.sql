-- Views shared by the whole team (personal views live in each agent's config).
CREATE TABLE saved_views (
    name       TEXT PRIMARY KEY,
    query      TEXT NOT NULL,
    sort       TEXT NOT NULL DEFAULT 'urgent'
               CHECK (sort IN ('urgent', 'recent', 'waiting', 'snooze')),
    shortcut   TEXT,
    created_by TEXT NOT NULL,
    created_at REAL NOT NULL
);
