"""What opening a store or listing it writes before reading, each decided by one read: the
snoozed conversations whose time has come (``list`` wakes them), and whether the stored SLA
columns follow the configured policies (opening recomputes them when not). A reader that
finds nothing to do can read on a read-only connection (:mod:`.readonly`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .db import Db

if TYPE_CHECKING:
    from ..sla import SlaSettings


def snoozed_due(conn: Db, now: float) -> list[int]:
    """The snoozed conversations whose snooze ended by ``now`` (to be reopened)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM conversations WHERE status = 'snoozed' AND snooze_until <= ?", (now,)
        )
    ]


def sla_fingerprints(conn: Db, settings: SlaSettings | None) -> tuple[str | None, str | None]:
    """(stored, wanted): the fingerprint of the policies the stored SLA columns were
    computed under, and that of ``settings`` (None: no policies). Equal when the columns
    need no recomputing."""
    row = conn.execute("SELECT value FROM sla_settings WHERE name = 'fingerprint'").fetchone()
    stored = row[0] if row else None
    wanted = settings.fingerprint if settings and settings.policies else None
    return stored, wanted
