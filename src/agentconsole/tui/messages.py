"""Messages widgets post up to the screen and the app."""

from __future__ import annotations

from typing import Literal

from textual.message import Message

Severity = Literal["information", "warning", "error"]


class Notice(Message):
    """Something to tell the agent (it may hold outside text: the app shows it cleaned, never
    as markup)."""

    def __init__(self, text: str, severity: Severity = "information") -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class StoreChanged(Message):
    """The store changed: the screen reloads what it shows (``conversation_id``: the
    conversation to show again, if any)."""

    def __init__(
        self,
        conversation_id: int | None = None,
        *,
        keep_position: bool = False,
        select: int | None = None,
    ) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        #: Put the cursor on this conversation when the view lists it (where a merge or a
        #: split put the messages).
        self.select = select
        #: An action by the agent: the cursor stays at its place in the list (the next piece
        #: of work), not with a row that moved.
        self.keep_position = keep_position


class SaveViewRequested(Message):
    """The agent asked to keep the current search as a view."""


class Refreshed(Message):
    """The main screen finished a reload (counts, index, open conversation): tests and the
    app wait on it instead of sleeping."""


class FirstPaint(Message):
    """The first rows of the queue are on screen (the app settles its memory after it)."""


class ReplyQueued(Message):
    """A reply went into the outbox: it waits out its undo window (``undo_seconds``) on
    ``channel``; with ``advance`` the next conversation of the view opens."""

    def __init__(
        self,
        conversation_id: int,
        message_id: int,
        channel: str | None,
        undo_seconds: float,
        *,
        advance: bool,
        quiet: bool = False,
        batch: int | None = None,
    ) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.message_id = message_id
        self.channel = channel
        self.undo_seconds = undo_seconds
        self.advance = advance
        #: One of many (a saved reply to marked conversations): said once, by the sender.
        self.quiet = quiet
        #: The bulk action it belongs to (``u`` takes back all of them), else ``None``.
        self.batch = batch


class ReplyUnsent(Message):
    """A reply was taken back into a draft: its conversation opens with the composer."""

    def __init__(self, conversation_id: int) -> None:
        super().__init__()
        self.conversation_id = conversation_id


class UndoOffered(Message):
    """What the undo key does changed (a reply's window ticks or ends): the status line
    says it again."""


class OpenConversation(Message):
    """Show this conversation (another of the contact's, the hotlist's pick), whatever
    view it is in."""

    def __init__(self, conversation_id: int, why: str | None = None) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.why = why
