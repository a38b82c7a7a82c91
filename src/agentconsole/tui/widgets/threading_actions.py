"""Threading by hand from the keyboard: merge the conversation into another (a picker),
split it at the message being read, move that message to another conversation (a picker),
and show under each message why it is where it is. Each change is what ``u`` undoes next.

A mixin of :class:`~.actions.ConversationActions` (the work column whose keys apply from the
queue and the thread alike); the store does the work (``Store.merge_conversations`` …).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

from rich.text import Text

from ...errors import AgentConsoleError, ConflictError, UsageError
from ...models import ConversationDetail, ConversationRow, MessageRecord, ThreadingChange
from ...query import parse_field
from ..bulk import Undo
from ..deferred import deferred
from ..keys import keys_of
from ..messages import Notice, StoreChanged
from ..screens.conversation_picker import ConversationPickerScreen
from ..screens.prompts import ask_choice

if TYPE_CHECKING:
    from .actions import ConversationActions

#: The conversations a picker offers at most (the channel's most recent).
CANDIDATES = 300
#: The split prompt's choices (their first letters are the shortcuts).
LATER, ONLY = "this message and the later ones", "only this message"


class ThreadingActions:
    """The ``merge``, ``split``, ``move_message`` and ``thread_reasons`` key actions."""

    @property
    def _threading_host(self) -> ConversationActions:
        return cast("ConversationActions", self)

    def _detail_in_front(self) -> ConversationDetail | None:
        """The conversation in front, when it is the one open in the pane."""
        host = self._threading_host
        detail = host.desk.pane.detail
        if detail is None or detail.row.id != host.target_id:
            host.post_message(Notice("Open the conversation first.", "warning"))
            return None
        return detail

    def _message_in_front(self) -> tuple[ConversationDetail, MessageRecord] | None:
        detail = self._detail_in_front()
        if detail is None:
            return None
        message = self._threading_host.desk.pane.selected_message
        if message is None:
            self._threading_host.post_message(Notice("No message to act on.", "warning"))
            return None
        return detail, message

    def _pick_conversation(
        self, detail: ConversationDetail, question: Text, then: Callable[[int], None]
    ) -> None:
        """Ask for another conversation of ``detail``'s channel (the same customer's first,
        then the most recent) and hand its id to ``then``."""
        host = self._threading_host
        store = host.services.store

        async def run() -> None:
            try:
                rows = await store.find(
                    parse_field("channel", detail.row.channel), order="recent", limit=CANDIDATES
                )
            except AgentConsoleError as error:
                host.post_message(Notice(str(error), "error"))
                return
            host.app.push_screen(
                ConversationPickerScreen(question, candidates(rows, detail)),
                lambda picked: None if picked is None else then(picked),
            )

        host.run_worker(run(), group="actions", exit_on_error=False)

    def _run_threading(
        self,
        operation: Callable[[], Awaitable[ThreadingChange]],
        said: Callable[[ThreadingChange], str],
        *,
        select: Callable[[ThreadingChange], int | None] = lambda change: None,
    ) -> None:
        """Run a merge, split or move in a worker; say what it did, and make it what the
        undo key undoes next."""
        host = self._threading_host

        async def run() -> None:
            try:
                change = await operation()
            except (UsageError, ConflictError) as error:
                host.post_message(Notice(str(error), "warning"))
                return
            except AgentConsoleError as error:
                host.post_message(Notice(str(error), "error"))
                return
            text = said(change)
            host.last_undo = Undo(text, (), change_id=change.id)
            host.post_message(Notice(f"{text} — {keys_of(host, 'undo')} undoes it"))
            pane = host.desk.pane.conversation_id
            host.post_message(StoreChanged(pane, select=select(change)))

        host.run_worker(run(), group="actions", exit_on_error=False)

    # -- the key actions ----------------------------------------------------------------------

    def action_merge(self) -> None:
        """Merge the conversation in front into one the agent picks (that one is kept)."""
        detail = self._detail_in_front()
        if detail is None:
            return
        store, merged = self._threading_host.services.store, detail.row.id

        def merge(keep: int) -> None:
            self._run_threading(
                lambda: store.merge_conversations(keep, merged),
                lambda change: f"merge of #{change.source_id} into #{change.target_id}",
                select=lambda change: change.target_id,
            )

        self._pick_conversation(detail, Text(f"Merge #{merged} into…"), merge)

    def action_split(self) -> None:
        """Split the conversation at the message being read: it and the later ones, or
        only it, go to a new conversation."""
        found = self._message_in_front()
        if found is None:
            return
        detail, message = found
        store = self._threading_host.services.store

        def split(choice: str) -> None:
            self._run_threading(
                lambda: store.split_conversation(message.id, only=choice == ONLY),
                lambda change: (
                    f"split of #{change.source_id}: {len(change.message_ids)} messages"
                    f" now in #{change.target_id}"
                ),
            )

        question = Text(f"Split #{detail.row.id} at message {message.id}: move…")
        ask_choice(self._threading_host, question, (LATER, ONLY), split)

    def action_move_message(self) -> None:
        """Move the message being read to a conversation the agent picks."""
        found = self._message_in_front()
        if found is None:
            return
        detail, message = found
        store = self._threading_host.services.store

        def move(target: int) -> None:
            self._run_threading(
                lambda: store.move_message(message.id, target),
                lambda change: (
                    f"move of message {message.id} from #{change.source_id} to #{change.target_id}"
                ),
            )

        self._pick_conversation(detail, Text(f"Move message {message.id} to…"), move)

    def action_thread_reasons(self) -> None:
        """Show or hide, under each message, why it is in this conversation."""
        host = self._threading_host
        pane = host.desk.pane
        pane.reasons = not pane.reasons
        if pane.detail is not None:
            host.run_worker(
                deferred(pane.show, pane.detail, force=True),
                group="detail",
                exclusive=True,
                exit_on_error=False,
            )
        host.post_message(
            Notice(
                "Why each message is here: shown" if pane.reasons else "Threading reasons hidden"
            )
        )


def candidates(rows: list[ConversationRow], detail: ConversationDetail) -> list[ConversationRow]:
    """The conversations to offer beside ``detail``'s own: the same customer's first."""
    others = [row for row in rows if row.id != detail.row.id]
    return sorted(others, key=lambda row: row.contact_id != detail.row.contact_id)
