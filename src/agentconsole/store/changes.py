"""Changing conversations' state — assignment, status, priority, tags — for one or many at
once, each change audited in the transaction that makes it, and undone the same way.

One rule for everyone (the CLI, the TUI's bulk actions, later rules): a change that would
not alter a conversation writes nothing and says so; taking a conversation another agent
holds needs ``force``; a batch is one transaction, and a conversation that cannot change
(not found, held) is reported without stopping the others.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import ConflictError, NotFoundError, UsageError
from ..models import PRIORITIES, STATUSES, Change, ChangeOutcome, ConversationState
from . import redirects
from .db import Db
from .writes import Audited, audit_many

if TYPE_CHECKING:
    from ..rules.definition import RuleSet

#: Conversations changed per transaction: big enough to be quick, small enough that other
#: writers (ingest, other agents) never wait long.
BATCH = 500


def check(change: Change) -> None:
    """Refuse a malformed change before touching anything. Raises :class:`UsageError`."""
    if change.kind == "status":
        if change.status not in STATUSES:
            raise UsageError(f"unknown status {change.status!r}: use one of {', '.join(STATUSES)}")
        if change.status == "snoozed" and change.snooze_until is None:
            raise UsageError("snoozing needs a time to wake up")
    elif change.kind == "priority":
        if change.rank is None or not 0 <= change.rank < len(PRIORITIES):
            raise UsageError(
                f"priority rank {change.rank} is out of range: use 0 (urgent) to 3 (low)"
            )
    elif change.kind == "tags":
        for tag in change.add:
            if not tag or any(char.isspace() for char in tag):
                raise UsageError(f"a tag is one word without spaces, not {tag!r}")


def state(conn: Db, conversation_id: int) -> ConversationState:
    """A conversation's changeable state (a merged one's: the one it was merged into, so
    acting on the old id acts there). Raises :class:`NotFoundError`."""
    conversation_id = redirects.resolve(conn, conversation_id)
    row = conn.execute(
        "SELECT status, snooze_until, priority, assignee FROM conversations WHERE id = ?",
        (conversation_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    tags = tuple(
        r[0]
        for r in conn.execute(
            "SELECT tag FROM conversation_tags WHERE conversation_id = ? ORDER BY tag",
            (conversation_id,),
        )
    )
    return ConversationState(conversation_id, row[0], row[1], row[2], row[3], tags)


def states(conn: Db, ids: Sequence[int]) -> dict[int, ConversationState]:
    """:func:`state` of each of ``ids``, by the id asked for, in three statements (plus one
    per merged id); an id that names no conversation is left out."""
    marks = ", ".join("?" * len(ids))
    merged = {
        row[0]
        for row in conn.execute(
            f"SELECT conversation_id FROM conversation_redirects WHERE conversation_id IN ({marks})",
            tuple(ids),
        )
    }
    resolved = {i: redirects.resolve(conn, i) if i in merged else i for i in ids}
    targets = tuple(dict.fromkeys(resolved.values()))
    marks = ", ".join("?" * len(targets))
    rows = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT id, status, snooze_until, priority, assignee FROM conversations"
            f" WHERE id IN ({marks})",
            targets,
        )
    }
    tags: dict[int, list[str]] = {}
    for conversation_id, tag in conn.execute(
        f"SELECT conversation_id, tag FROM conversation_tags WHERE conversation_id IN ({marks})"
        " ORDER BY conversation_id, tag",
        targets,
    ):
        tags.setdefault(conversation_id, []).append(tag)
    found = {}
    for asked, target in resolved.items():
        if target in rows:
            status, snooze_until, priority, assignee = rows[target]
            found[asked] = ConversationState(
                target, status, snooze_until, priority, assignee, tuple(tags.get(target, ()))
            )
    return found


def apply_one(
    conn: Db, conversation_id: int, change: Change, agent: str, now: float
) -> ChangeOutcome:
    """``change`` on one conversation inside the caller's transaction."""
    outcome, write = _decide(state(conn, conversation_id), change, agent, now)
    if write is not None:
        _write(conn, [(outcome.conversation_id, write)], agent, now)
    return outcome


def apply(
    conn: Db,
    ids: Sequence[int],
    change: Change,
    agent: str,
    rules: RuleSet | None = None,
) -> list[ChangeOutcome]:
    """``change`` on every conversation of ``ids`` (in order), one transaction per
    :data:`BATCH`; an outcome per id. ``rules`` of the change's event run on the
    conversations it changed, in the same transaction. Raises :class:`UsageError` for a
    malformed change.

    A batch's conversations are decided one by one and written together: one UPDATE for
    all that change the same way, their audit entries appended at once (at 100,000
    conversations a statement per conversation cost three times as much)."""
    from .rules_sql import after_agent_change

    check(change)
    outcomes: list[ChangeOutcome] = []
    for start in range(0, len(ids), BATCH):
        now = time.time()
        with conn.transaction():
            first = len(outcomes)
            batch = ids[start : start + BATCH]
            known = states(conn, batch)
            pending: list[tuple[int, _Write]] = []
            touched: set[int] = set()
            for conversation_id in batch:
                try:
                    before = known.get(conversation_id)
                    if before is None:
                        raise NotFoundError(f"no conversation {conversation_id}")
                    if before.conversation_id in touched:
                        # The same conversation again (an id and one merged into it): the
                        # second is decided on what the first did.
                        _write(conn, pending, agent, now)
                        pending = []
                        before = state(conn, conversation_id)
                    outcome, write = _decide(before, change, agent, now)
                except NotFoundError as error:
                    outcome, write = (
                        ChangeOutcome(conversation_id, False, None, str(error), 3),
                        None,
                    )
                except ConflictError as error:
                    outcome, write = (
                        ChangeOutcome(conversation_id, False, None, str(error), 4),
                        None,
                    )
                outcomes.append(outcome)
                if write is not None:
                    pending.append((outcome.conversation_id, write))
                    touched.add(outcome.conversation_id)
            _write(conn, pending, agent, now)
            changed = [o.conversation_id for o in outcomes[first:] if o.changed]
            after_agent_change(conn, rules, change.kind, changed, now)
    return outcomes


@dataclass(slots=True)
class Pending:
    """Changes by one ``agent`` at ``now``, decided one after another and written together
    (what a rule does to the conversations of a batch it matched): :meth:`change` decides
    a change on the state it is given and returns the state after it, :meth:`audit` queues
    any other entry, :meth:`flush` writes the changes (one UPDATE per distinct write) and
    then every queued entry in the order queued, with one append to the audit chain.

    Until :meth:`flush`, the store holds the state before: whatever reads it — a query, the
    audit log — must come after a flush."""

    conn: Db
    agent: str
    now: float
    writes: list[tuple[int, _Write]] = field(default_factory=list)
    entries: list[Audited] = field(default_factory=list)

    def change(
        self, before: ConversationState, change: Change
    ) -> tuple[ChangeOutcome, ConversationState]:
        """``change`` on the conversation ``before`` describes: its outcome and the state
        after (``before`` when nothing changes). Raises :class:`ConflictError`."""
        outcome, write = _decide(before, change, self.agent, self.now)
        if write is None:
            return outcome, before
        self.writes.append((before.conversation_id, write))
        self.entries.append((write.action, before.conversation_id, write.detail))
        return outcome, write.after

    def audit(self, action: str, conversation_id: int, detail: dict[str, Any]) -> None:
        """Queue an audit entry (after those of the changes decided so far)."""
        self.entries.append((action, conversation_id, detail))

    def flush(self) -> None:
        """Write what was decided and queued so far."""
        _update(self.conn, self.writes)
        audit_many(self.conn, self.agent, self.entries, self.now)
        self.writes, self.entries = [], []


@dataclass(frozen=True, slots=True)
class _Write:
    """What a change does to one conversation, not yet done: the columns it sets and their
    values (the same for every conversation a bulk change reaches, so :func:`_write` sets
    them all in one UPDATE), what the audit log says of it, the conversation's state after
    it (its tags in Python's order, not the database's) and the tag rows it adds and
    removes."""

    assignments: str
    values: tuple[Any, ...]
    action: str
    detail: dict[str, Any]
    after: ConversationState
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()


def _decide(
    before: ConversationState, change: Change, agent: str, now: float
) -> tuple[ChangeOutcome, _Write | None]:
    """What ``change`` does to the conversation ``before`` describes: its outcome, and the
    write it needs (None: it changes nothing). Raises :class:`ConflictError`."""
    if change.kind == "assign":
        return _assign(before, change, agent, now)
    if change.kind == "status":
        return _status(before, change, now)
    if change.kind == "priority":
        return _priority(before, change, now)
    return _tags(before, change, now)


def _write(conn: Db, writes: Sequence[tuple[int, _Write]], agent: str, now: float) -> None:
    """Do ``writes`` (conversation id, write): one UPDATE per distinct write, then every
    audit entry in their order."""
    _update(conn, writes)
    audit_many(conn, agent, [(w.action, target, w.detail) for target, w in writes], now)


def _update(conn: Db, writes: Sequence[tuple[int, _Write]]) -> None:
    """The statements of ``writes``: an UPDATE per distinct write and round, and the tag
    rows of a round in two statements. A conversation's first write is in the first round,
    its second in the second, and so on, so its writes are made in their order (the same
    column or tag set twice ends as the later write set it)."""
    rounds: list[list[tuple[int, _Write]]] = []
    seen: dict[int, int] = {}
    for conversation_id, write in writes:
        number = seen.get(conversation_id, 0)
        seen[conversation_id] = number + 1
        if number == len(rounds):
            rounds.append([])
        rounds[number].append((conversation_id, write))
    for one_each in rounds:
        added = [(target, tag) for target, write in one_each for tag in write.add_tags]
        removed = [(target, tag) for target, write in one_each for tag in write.remove_tags]
        if added:
            conn.executemany(
                "INSERT INTO conversation_tags(conversation_id, tag) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                added,
            )
        if removed:
            conn.executemany(
                "DELETE FROM conversation_tags WHERE conversation_id = ? AND tag = ?", removed
            )
        alike: dict[tuple[str, tuple[Any, ...]], list[int]] = {}
        for target, write in one_each:
            alike.setdefault((write.assignments, write.values), []).append(target)
        for (assignments, values), targets in alike.items():
            for start in range(0, len(targets), BATCH):
                part = targets[start : start + BATCH]
                conn.execute(
                    f"UPDATE conversations SET {assignments}"
                    f" WHERE id IN ({', '.join('?' * len(part))})",
                    (*values, *part),
                )


def restore(conn: Db, states: Sequence[ConversationState], agent: str) -> list[int]:
    """Put each conversation back as ``states`` recorded it (the undo of a change), audited
    as ``undo``; returns the ids that changed. Conversations gone since are skipped."""
    restored: list[int] = []
    for start in range(0, len(states), BATCH):
        now = time.time()
        with conn.transaction():
            undone: list[Audited] = []
            for before in states[start : start + BATCH]:
                try:
                    current = state(conn, before.conversation_id)
                except NotFoundError:
                    continue
                if current == before:
                    continue
                _write_state(conn, before, now)
                detail = {"from": _describe(current), "to": _describe(before)}
                undone.append(("undo", before.conversation_id, detail))
                restored.append(before.conversation_id)
            audit_many(conn, agent, undone, now)
    return restored


def _unchanged(before: ConversationState, what: str) -> ChangeOutcome:
    return ChangeOutcome(before.conversation_id, False, before, what, 1)


def _changed(before: ConversationState) -> ChangeOutcome:
    return ChangeOutcome(before.conversation_id, True, before)


def _assign(
    before: ConversationState, change: Change, agent: str, now: float
) -> tuple[ChangeOutcome, _Write | None]:
    current, wanted = before.assignee, change.assignee
    if current == wanted:
        what = f"already {'assigned to ' + wanted if wanted else 'unassigned'}"
        return _unchanged(before, what), None
    if current is not None and current != agent and not change.force:
        raise ConflictError(
            f"conversation {before.conversation_id} is assigned to {current}; "
            "take it over explicitly (--force) if that is intended"
        )
    write = _Write(
        "assignee = ?, updated_at = ?",
        (wanted, now),
        "assign",
        {"from": current, "to": wanted},
        replace(before, assignee=wanted),
    )
    return _changed(before), write


def _status(
    before: ConversationState, change: Change, now: float
) -> tuple[ChangeOutcome, _Write | None]:
    status = change.status
    assert status is not None
    until = change.snooze_until if status == "snoozed" else None
    if before.status == status and before.snooze_until == until:
        return _unchanged(before, f"already {status}"), None
    detail: dict[str, Any] = {"from": before.status, "to": status}
    if until is not None:
        detail["until"] = until
    write = _Write(
        "status = ?, updated_at = ?, snooze_until = ?,"
        " resolved_at = CASE WHEN ? = 'closed' THEN ? ELSE NULL END",
        (status, now, until, status, now),
        "status",
        detail,
        replace(before, status=status, snooze_until=until),
    )
    return _changed(before), write


def _priority(
    before: ConversationState, change: Change, now: float
) -> tuple[ChangeOutcome, _Write | None]:
    if before.priority == change.rank:
        return _unchanged(before, f"already {PRIORITIES[before.priority]}"), None
    detail = {"from": before.priority, "to": change.rank}
    assert change.rank is not None
    after = replace(before, priority=change.rank)
    return _changed(before), _Write(
        "priority = ?, updated_at = ?", (change.rank, now), "priority", detail, after
    )


def _tags(
    before: ConversationState, change: Change, now: float
) -> tuple[ChangeOutcome, _Write | None]:
    have = set(before.tags)
    add = [tag for tag in dict.fromkeys(change.add) if tag not in have]
    remove = [tag for tag in dict.fromkeys(change.remove) if tag in have and tag not in add]
    if not add and not remove:
        return _unchanged(before, "tags already so"), None
    after = replace(before, tags=tuple(sorted((have | set(add)) - set(remove))))
    detail = {"add": add, "remove": remove}
    write = _Write("updated_at = ?", (now,), "tag", detail, after, tuple(add), tuple(remove))
    return _changed(before), write


def _write_state(conn: Db, wanted: ConversationState, now: float) -> None:
    conn.execute(
        "UPDATE conversations SET status = ?, snooze_until = ?, priority = ?, assignee = ?,"
        " updated_at = ?,"
        " resolved_at = CASE WHEN ? = 'closed' THEN coalesce(resolved_at, ?) ELSE NULL END"
        " WHERE id = ?",
        (
            wanted.status,
            wanted.snooze_until,
            wanted.priority,
            wanted.assignee,
            now,
            wanted.status,
            now,
            wanted.conversation_id,
        ),
    )
    conn.execute(
        "DELETE FROM conversation_tags WHERE conversation_id = ?", (wanted.conversation_id,)
    )
    conn.executemany(
        "INSERT INTO conversation_tags(conversation_id, tag) VALUES (?, ?)",
        [(wanted.conversation_id, tag) for tag in wanted.tags],
    )


def _describe(current: ConversationState) -> dict[str, Any]:
    return {
        "status": current.status,
        "snooze_until": current.snooze_until,
        "priority": current.priority,
        "assignee": current.assignee,
        "tags": list(current.tags),
    }
