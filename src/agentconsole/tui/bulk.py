"""What a change did to one or many conversations, said in a line, and what ``u`` undoes.

Pure functions over :class:`~agentconsole.models.ChangeOutcome` (no Textual): the TUI's
actions all run through ``Store.apply`` and report with :func:`summary`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..models import ChangeOutcome, ConversationState

if TYPE_CHECKING:
    from ..store.undo_send import UnsendReport

#: More marked conversations than this and an action asks first ("close 143 conversations?").
CONFIRM_ABOVE = 10


@dataclass(frozen=True, slots=True)
class Undo:
    """The last change, as ``u`` puts it back: a label ("close of 143") and the states
    before it of the conversations it changed."""

    label: str
    states: tuple[ConversationState, ...]
    #: A merge, split or move to undo instead (its change id): see ``Store.undo_threading``.
    change_id: int | None = None
    #: Conversations marked spam (or not spam) to put back instead: ``Store.set_spam`` with
    #: :attr:`spam_before` undoes it (the block on the sender too).
    spam_ids: tuple[int, ...] = ()
    spam_before: bool = False


def count_phrase(count: int) -> str:
    return f"{count} conversation{'s' if count != 1 else ''}"


def id_list(ids: Sequence[int], most: int = 6) -> str:
    """``"#3, #4, #5"``; past ``most`` the rest are counted ("#3, …, #8 and 4 more")."""
    shown = ", ".join(f"#{i}" for i in ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")


def unsend_summary(report: UnsendReport, conversation_of: Mapping[int, int]) -> str:
    """What taking back a bulk reply did, in a line: how many replies were taken back (and
    where), then which could not be — those that had left, and any other reason.
    ``conversation_of`` maps each reply's message id to its conversation."""
    total = len(report.taken) + len(report.refused)
    taken = [u.conversation_id for u in report.taken]
    if not taken:
        line = f"None of the {total} replies could be taken back"
    else:
        how_many = f"all {total}" if len(taken) == total else f"{len(taken)} of {total}"
        line = (
            f"Took back {how_many} replies ({id_list(taken)}) — nothing of them was sent;"
            " each is a draft again"
        )
    left = [conversation_of.get(r.message_id, r.message_id) for r in report.refused if r.left]
    if left:
        line += (
            f". Could no longer be taken back, already on their way: {id_list(left)}"
            " (send a follow-up if they must be corrected)"
        )
    for refusal in (r for r in report.refused if not r.left):
        where = conversation_of.get(refusal.message_id, refusal.message_id)
        line += f". #{where}: {refusal.reason}"
    return line + "."


def summary(outcomes: Sequence[ChangeOutcome], done: str) -> str:
    """``"#5 closed"`` for one, ``"140 closed, 3 already closed"`` for many: what changed,
    then each reason something did not, with how many."""
    if len(outcomes) == 1:
        outcome = outcomes[0]
        if outcome.changed:
            return f"#{outcome.conversation_id} {done}"
        return f"#{outcome.conversation_id}: {_reason(outcome)}"
    changed = sum(1 for outcome in outcomes if outcome.changed)
    parts = [f"{changed} {done}"]
    reasons = Counter(_reason(outcome) for outcome in outcomes if not outcome.changed)
    parts += [f"{count} {reason}" for reason, count in reasons.most_common()]
    return ", ".join(parts)


def _reason(outcome: ChangeOutcome) -> str:
    """Why a conversation did not change, short enough to count ("already closed")."""
    if outcome.exit_code == 4:
        return "held by another agent"
    if outcome.exit_code == 3:
        return "gone"
    return outcome.error or "unchanged"


def undo_of(outcomes: Sequence[ChangeOutcome], verb: str) -> Undo | None:
    """What undoing these outcomes restores (``None`` when nothing changed)."""
    states = tuple(o.before for o in outcomes if o.changed and o.before is not None)
    if not states:
        return None
    label = (
        f"{verb} #{states[0].conversation_id}" if len(states) == 1 else f"{verb} of {len(states)}"
    )
    return Undo(label, states)


def spam_undo(changed: Sequence[int], spam: bool) -> Undo | None:
    """What undoing "spam" (``spam``) or "not spam" on the ``changed`` ids restores."""
    if not changed:
        return None
    verb = "spam" if spam else "not spam"
    label = f"{verb} #{changed[0]}" if len(changed) == 1 else f"{verb} of {len(changed)}"
    return Undo(label, (), spam_ids=tuple(changed), spam_before=not spam)
