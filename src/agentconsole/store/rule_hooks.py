"""Hook commands rules queued (``rule_hooks``, written in the transaction that ran the
rule): claimed by the runner after the commit, run outside any transaction, their end
recorded — a failure in the conversation's history (``rule.hook_failed``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..rules.definition import rule_agent
from .db import Db
from .writes import audit

#: How long a claimed hook stays "running" before another runner may take it again.
HOOK_CLAIM_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class HookCall:
    """A rule's hook command to run for one conversation (queued by the rule)."""

    id: int
    rule: str
    event: str
    conversation_id: int
    command: str


def claim_hooks(conn: Db, now: float, limit: int = 20) -> list[HookCall]:
    """Claim queued hooks (and ones whose runner stopped mid-way), oldest first. Polled
    often: nothing is written (no transaction taken) while there is none."""
    due = (
        "SELECT id, rule, event, conversation_id, command FROM rule_hooks"
        " WHERE state = 'queued' OR (state = 'running' AND claimed_until < ?)"
        " ORDER BY id LIMIT ?"
    )
    if conn.execute(due, (now, 1)).fetchone() is None:
        return []
    with conn.transaction():
        rows = conn.execute(due, (now, limit)).fetchall()
        for row in rows:
            conn.execute(
                "UPDATE rule_hooks SET state = 'running', claimed_until = ? WHERE id = ?",
                (now + HOOK_CLAIM_SECONDS, row[0]),
            )
    return [HookCall(*row) for row in rows]


def finish_hook(conn: Db, hook_id: int, error: str | None, now: float) -> None:
    """Record a hook's end; a failure also goes in the conversation's history."""
    with conn.transaction():
        conn.execute(
            "UPDATE rule_hooks SET state = ?, finished_at = ?, error = ? WHERE id = ?",
            ("failed" if error else "done", now, error, hook_id),
        )
        if error:
            rule, conversation_id = conn.execute(
                "SELECT rule, conversation_id FROM rule_hooks WHERE id = ?", (hook_id,)
            ).fetchone()
            audit(
                conn,
                rule_agent(rule),
                "rule.hook_failed",
                conversation_id,
                {"rule": rule, "error": error},
                now,
            )
