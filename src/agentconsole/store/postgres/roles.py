"""``agentconsole store init`` on PostgreSQL: the roles a team's store runs under.

* ``agentconsole_owner`` (no login) owns the schema: only it (and whoever may act as it,
  the database administrator) changes tables or runs migrations.
* ``agentconsole_agents`` (no login) is the group of agents' roles: they read and write the
  store's data, but may only INSERT into ``audit_log`` — never UPDATE, DELETE or TRUNCATE
  it — so the audit log is append-only for every agent.

Each agent is a login role of its own, a member of the agents role, named like their Unix
account so peer authentication over the Unix socket needs no password.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

OWNER = "agentconsole_owner"
AGENTS = "agentconsole_agents"


def _role_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is not None


def init(conn: psycopg.Connection[Any], agents: list[str]) -> list[str]:
    """Create the owner and agents roles (if missing), give the store's tables to the owner,
    grant the agents what they need and no more, and add ``agents`` (login roles, created
    when missing) to the agents role. Returns what was done, a line each. One transaction:
    all of it or none. Needs a role that may create roles and owns the store's tables (a
    superuser, or the database owner with CREATEROLE)."""
    done: list[str] = []
    with conn.transaction():
        for role in (OWNER, AGENTS):
            if not _role_exists(conn, role):
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                done.append(f"created role {role}")
        schema = conn.execute("SELECT current_schema()").fetchone()
        assert schema is not None
        schema_name = sql.Identifier(schema[0])
        owner, group = sql.Identifier(OWNER), sql.Identifier(AGENTS)
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(schema_name, owner))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_name, group))
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        for table in tables:
            name = sql.Identifier(table)
            conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(name, owner))
            conn.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(name))
            if table == "audit_log":
                privileges = sql.SQL("SELECT, INSERT")
            elif table == "agentconsole_schema":
                privileges = sql.SQL("SELECT")
            else:
                privileges = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
            conn.execute(sql.SQL("GRANT {} ON {} TO {}").format(privileges, name, group))
        conn.execute(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                schema_name, group
            )
        )
        done.append(
            f"{len(tables)} tables owned by {OWNER}; {AGENTS} may read and write them, and "
            "only add to audit_log"
        )
        for agent in agents:
            login = sql.Identifier(agent)
            if not _role_exists(conn, agent):
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(login))
                done.append(f"created login role {agent}")
            conn.execute(sql.SQL("GRANT {} TO {}").format(group, login))
            done.append(f"{agent} is an agent")
    return done
