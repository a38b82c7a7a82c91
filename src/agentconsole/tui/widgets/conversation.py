"""The conversation pane: header, the whole thread, the contact panel, and what an agent
does while reading (fold, the original in a pager, save an attachment)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from ...errors import AgentConsoleError, UsageError
from ...humanize import span
from ...models import ConversationDetail, DraftActivity, MessageRecord
from ...sanitize import one_line
from ..external import page_source
from ..keys import keys_of
from ..messages import Notice
from ..safe_text import safe_text
from ..screens.prompts import ask_choice, ask_line
from ..services import Services
from ..thread_text import KeyHints, chat_line, contact_text, header_text, message_text
from .message_box import MessageBox

#: Threads longer than this show their most recent messages only (with a note).
MAX_MESSAGES = 300


class ConversationPane(Vertical):
    """Shows one :class:`ConversationDetail`. Attributes down: :meth:`show`, :meth:`clear`,
    :meth:`set_read_only`, :meth:`set_others_writing`; messages up: :class:`Notice`."""

    DEFAULT_CSS = """
    ConversationPane {
        height: 1fr;
    }
    ConversationPane #conversation-header {
        height: auto;
        padding: 0 1;
        background: $panel;
        border-bottom: solid $primary 30%;
    }
    ConversationPane #thread {
        height: 1fr;
        padding: 0 1;
    }
    ConversationPane #contact-panel {
        padding: 0 1;
        margin: 1 0 0 0;
        border-top: dashed $primary 40%;
        color: $text-muted;
    }
    ConversationPane #moved-notice {
        display: none;
        padding: 0 1;
        background: $accent 30%;
        text-style: bold;
    }
    ConversationPane #moved-notice.-shown {
        display: block;
    }
    ConversationPane #others-writing, ConversationPane #read-only-notice {
        display: none;
        padding: 0 1;
        background: $warning 20%;
    }
    ConversationPane #others-writing {
        background: $warning 25%;
        text-style: bold;
    }
    ConversationPane #others-writing.-shown, ConversationPane #read-only-notice.-shown {
        display: block;
    }
    ConversationPane .thread-note {
        color: $text-muted;
        text-style: italic;
    }
    """

    def __init__(self, services: Services, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.services = services
        self.detail: ConversationDetail | None = None
        #: What the thread's widgets show: ``detail`` once its mounting finished. A load
        #: cancelled mid-way (a newer load of the same conversation replaced it) leaves
        #: ``detail`` set over a half-built thread, which the next load must rebuild.
        self._shown: ConversationDetail | None = None
        #: The note to show with the next conversation shown, if it is this one.
        self._moved_next: tuple[int, Text] | None = None
        #: Fold quoted history, signatures and very long bodies (z toggles).
        self.fold = True
        #: Show under each message header why it is in this conversation.
        self.reasons = False

    def compose(self) -> ComposeResult:
        yield Static(Text("No conversation selected."), id="conversation-header", markup=False)
        yield Static("", id="moved-notice", markup=False)
        yield Static("", id="others-writing", markup=False)
        yield VerticalScroll(id="thread")
        yield Static("", id="read-only-notice", markup=False)

    @property
    def thread(self) -> VerticalScroll:
        return self.query_one("#thread", VerticalScroll)

    @property
    def conversation_id(self) -> int | None:
        return self.detail.row.id if self.detail else None

    async def clear(self, message: str = "No conversation selected.") -> None:
        self.detail = self._shown = None
        self.set_moved(None)
        self.query_one("#conversation-header", Static).update(Text(message))
        self.set_read_only(None)
        await self.thread.remove_children()

    def set_others_writing(self, others: list[DraftActivity]) -> None:
        """Show which other agents are writing here, so nobody answers twice unknowingly."""
        now = self.services.clock()
        widget = self.query_one("#others-writing", Static)
        text = Text(end="")
        for index, other in enumerate(others):
            if index:
                text.append(" · ")
            text.append("✎ ")
            text.append_text(safe_text(other.agent, multiline=False))
            text.append(
                f" is writing {'a reply' if other.kind == 'reply' else 'a note'}"
                f" ({span(now - other.updated_at)} ago)"
            )
        widget.update(text)
        widget.set_class(bool(others), "-shown")

    def set_moved(self, notice: Text | None) -> None:
        """Say that the conversation shown took the place of the one the agent was on (it
        left the view or moved); gone once another conversation is shown."""
        widget = self.query_one("#moved-notice", Static)
        widget.update(notice or Text(""))
        widget.set_class(notice is not None, "-shown")

    def moved_to(self, conversation_id: int, notice: Text) -> None:
        """``conversation_id`` takes the place of the one shown: when it is shown next
        (whichever load shows it), ``notice`` says so."""
        self._moved_next = (conversation_id, notice)

    def set_read_only(self, notice: Text | None) -> None:
        widget = self.query_one("#read-only-notice", Static)
        widget.update(notice or Text(""))
        widget.set_class(notice is not None, "-shown")

    async def show(self, detail: ConversationDetail, *, force: bool = False) -> None:
        """Display ``detail``; redrawing the same conversation keeps the reading position."""
        same = self.detail is not None and self.detail.row.id == detail.row.id
        if same and self._shown == detail and not force:
            return
        now = self.services.clock()
        thread = self.thread
        at_end = thread.scroll_y >= thread.max_scroll_y - 1
        scroll_y = thread.scroll_y
        if not same:
            pending, self._moved_next = self._moved_next, None
            self.set_moved(pending[1] if pending and pending[0] == detail.row.id else None)
        self.detail = detail
        self.query_one("#conversation-header", Static).update(header_text(detail, now))
        compact = detail.row.channel_kind == "chat"
        hints = KeyHints(
            fold=keys_of(self, "toggle_quotes"),
            retry=keys_of(self, "retry"),
            source=keys_of(self, "view_source"),
        )
        widgets: list[Widget] = []
        messages = detail.messages
        if len(messages) > MAX_MESSAGES:
            hidden = len(messages) - MAX_MESSAGES
            note = Text(f"{hidden} earlier messages not shown")
            widgets.append(Static(note, markup=False, classes="thread-note"))
            messages = messages[-MAX_MESSAGES:]
        for message in messages:
            shape = chat_line if compact and message.direction != "note" else message_text
            content = shape(message, now, fold=self.fold, hints=hints, reasons=self.reasons)
            widgets.append(MessageBox(message, content, compact=compact))
        if not messages:
            widgets.append(Static(Text("No messages."), markup=False, classes="thread-note"))
        widgets.append(Static(contact_text(detail, now), id="contact-panel", markup=False))
        self._shown = None
        with self.app.batch_update():
            await thread.remove_children()
            await thread.mount_all(widgets)
        self._shown = detail
        if same and not at_end:
            self.call_after_refresh(thread.scroll_to, y=scroll_y, animate=False)
        else:
            self.call_after_refresh(self._scroll_to_last_message)

    def _scroll_to_last_message(self) -> None:
        boxes = list(self.thread.query(MessageBox))
        if boxes:
            self.thread.scroll_to_widget(boxes[-1], animate=False, top=True)

    @property
    def selected_message(self) -> MessageRecord | None:
        """The message the agent is reading: the first one that starts within the thread's
        view (the newest when it opens), else the one covering the whole view."""
        thread = self.thread
        top, bottom = thread.scroll_y, thread.scroll_y + thread.scrollable_content_region.height
        covering = None
        for box in thread.query(MessageBox):
            region = box.virtual_region
            if top <= region.y < bottom:
                return box.message
            if region.y < top:
                covering = box.message
        return covering

    # -- reading actions (bound by the work column, so they work from the queue too) -------

    async def toggle_fold(self) -> None:
        """Show or fold quoted text and long bodies in the whole thread."""
        self.fold = not self.fold
        if self.detail is not None:
            await self.show(self.detail, force=True)
        self.post_message(
            Notice("Quoted text and long bodies folded" if self.fold else "Everything shown")
        )

    async def view_source(self) -> None:
        """The original of the selected message in ``$PAGER``, its bytes saved for keeps."""
        message = self.selected_message
        if message is None:
            self.post_message(Notice("Open a conversation first.", "warning"))
            return
        try:
            raw = await self.services.store.raw_message(message.id)
        except AgentConsoleError as error:
            self.post_message(Notice(str(error), "error"))
            return
        if raw is None:
            self.post_message(
                Notice(f"Message {message.id} has no stored original (only its text).", "warning")
            )
            return
        self.post_message(page_source(self.app, message.id, raw))

    def save_attachment(self) -> None:
        """Save an attachment under a name the agent confirms (the message's file name is
        only a cleaned suggestion, never a path)."""
        from ...attachments import download_dir, save, suggested_name

        detail = self.detail
        found = [a for m in (detail.messages if detail else ()) for a in m.attachments]
        if not found:
            self.post_message(Notice("No attachments in this conversation.", "warning"))
            return
        store = self.services.store
        labels = [f"{n}. {one_line(a.filename) or '(unnamed)'}" for n, a in enumerate(found, 1)]

        def ask_path(choice: str) -> None:
            attachment = found[labels.index(choice)]
            suggestion = str(download_dir() / suggested_name(attachment.filename))

            def check(value: str) -> Text:
                path = Path(value.strip()).expanduser()
                if not value.strip():
                    raise UsageError("give a file name")
                if path.exists():
                    raise UsageError(f"{path} exists: choose another name")
                return Text(f"will write {attachment.size} bytes to {path}", style="dim")

            async def write(value: str) -> None:
                try:
                    _, data = await store.attachment(attachment.id)
                    await asyncio.to_thread(save, data, value.strip())
                except AgentConsoleError as error:
                    self.post_message(Notice(str(error), "error"))
                    return
                self.post_message(Notice(f"Saved {value.strip()}"))

            ask_line(self, Text("Save attachment as"), write, value=suggestion, check=check)

        if len(found) == 1:
            ask_path(labels[0])
        else:
            ask_choice(self, Text("Which attachment?"), labels, ask_path)
