"""What the messages of an ingest batch change in their conversations, written once per
conversation at the batch's end instead of once per message.

A conversation carries a dozen indexes (the queue's orders, the sidebar's counts): every
``UPDATE`` that moves its latest time rewrites an entry in each, so a thread of five
arriving in one batch paid five rewrites for one final row. Each message's change is
folded here into the conversation's pending change, which :meth:`ConversationUpdates.flush`
writes; the result is the row the message-by-message updates would have left.

Folding the waiting clock: a message either leaves it (an automated line), clears it (a
reply of ours that is the newest), or starts it unless it started earlier (a customer's
line: the earliest unanswered time wins). Those compose to one of the three.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .db import Db

#: How a batch leaves a conversation's waiting clock: kept, set to a value (``None``
#: clears it), or the earlier of the stored one and a value (a missing one counts as later).
KEEP, SET, EARLIEST = "keep", "set", "earliest"


@dataclass(frozen=True, slots=True)
class _Pending:
    messages: int = 0
    last_message_at: float = 0.0
    preview: str | None = None
    waiting: str = KEEP
    waiting_since: float | None = None
    first_response_at: float | None = None
    reopen: bool = False


class ConversationUpdates:
    """The pending changes of a batch's conversations (valid inside its transaction)."""

    __slots__ = ("_pending", "_now")

    def __init__(self, now: float) -> None:
        self._pending: dict[int, _Pending] = {}
        self._now = now

    def joined(
        self,
        conversation_id: int,
        *,
        last_message_at: float,
        preview: str | None = None,
        clear_waiting: bool = False,
        waiting_from: float | None = None,
        first_response_at: float | None = None,
        reopen: bool = False,
    ) -> None:
        """A message joined the conversation, leaving its latest time ``last_message_at``
        and (when given) its preview, its first response (unless it had one), its waiting
        clock cleared or started at ``waiting_from`` (unless it started earlier), reopened."""
        was = self._pending.get(conversation_id, _Pending())
        waiting, since = was.waiting, was.waiting_since
        if clear_waiting:
            waiting, since = SET, None
        elif waiting_from is not None:
            if waiting == KEEP:
                waiting, since = EARLIEST, waiting_from
            elif since is None or since > waiting_from:
                since = waiting_from
        self._pending[conversation_id] = _Pending(
            was.messages + 1,
            last_message_at,
            preview if preview is not None else was.preview,
            waiting,
            since,
            was.first_response_at if was.first_response_at is not None else first_response_at,
            was.reopen or reopen,
        )

    def flush(self, conn: Db, only: Iterable[int] | None = None) -> None:
        """Write the pending changes (of ``only`` those conversations, when given) and
        forget them; statements of one shape go in one ``executemany``."""
        ids = sorted(self._pending if only is None else set(only) & set(self._pending))
        shapes: dict[tuple[str, bool], list[tuple[object, ...]]] = {}
        for conversation_id in ids:
            change = self._pending.pop(conversation_id)
            clock: tuple[object, ...] = {
                KEEP: (),
                SET: (change.waiting_since,),
                EARLIEST: (change.waiting_since, change.waiting_since),
            }[change.waiting]
            shapes.setdefault((change.waiting, change.reopen), []).append(
                (
                    change.messages,
                    change.last_message_at,
                    self._now,
                    change.preview,
                    change.first_response_at,
                    *clock,
                    conversation_id,
                )
            )
        for (kind, reopen), rows in shapes.items():
            conn.executemany(_statement(kind, reopen), rows)


def _statement(waiting: str, reopen: bool) -> str:
    clock = {
        KEEP: "",
        SET: ", waiting_since = ?",
        EARLIEST: ", waiting_since = CASE WHEN waiting_since IS NULL OR waiting_since > ?"
        " THEN ? ELSE waiting_since END",
    }[waiting]
    reopening = ", status = 'open', snooze_until = NULL, resolved_at = NULL" if reopen else ""
    return (
        "UPDATE conversations SET message_count = message_count + ?, last_message_at = ?,"
        " updated_at = ?, preview = coalesce(?, preview),"
        f" first_response_at = coalesce(first_response_at, ?){clock}{reopening} WHERE id = ?"
    )
