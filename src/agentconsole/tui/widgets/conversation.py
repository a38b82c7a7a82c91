"""The conversation pane: header, the whole thread, the contact panel and the composer."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from ...humanize import span
from ...models import ConversationDetail, DraftActivity, MessageRecord
from ..safe_text import safe_text
from ..thread_text import chat_line, contact_text, header_text, message_text
from .composer import Composer

#: Threads longer than this show their most recent messages only (with a note).
MAX_MESSAGES = 300


class MessageBox(Static):
    """One message. Its CSS class says what it is: ``-in``, ``-out``, ``-note``,
    ``-automated``, ``-failed``, ``-compact`` (chat)."""

    DEFAULT_CSS = """
    MessageBox {
        padding: 0 1;
        margin: 0 0 1 0;
        border-left: tall $primary 50%;
    }
    MessageBox.-out {
        border-left: tall $success;
    }
    MessageBox.-failed {
        border-left: tall $error;
        background: $error 10%;
    }
    MessageBox.-note {
        border: round $warning;
        border-title-color: $warning;
        border-title-style: bold;
        background: $warning 15%;
    }
    MessageBox.-automated {
        border: round $secondary;
        border-title-color: $secondary;
        color: $text-muted;
    }
    MessageBox.-compact {
        margin: 0;
        border-left: none;
    }
    MessageBox.-compact.-note {
        border: round $warning;
        margin: 0 0 0 0;
    }
    """

    def __init__(self, message: MessageRecord, content: Text, *, compact: bool) -> None:
        classes = {"in": "-in", "out": "-out", "note": "-note"}.get(message.direction, "-in")
        if message.automated:
            classes += " -automated"
        if message.state == "failed":
            classes += " -failed"
        if compact:
            classes += " -compact"
        super().__init__(content, markup=False, classes=classes)
        self.message = message
        if message.direction == "note":
            self.border_title = "Internal note"
        elif message.automated:
            self.border_title = "Automated message"


class ConversationPane(Vertical):
    """Shows one :class:`ConversationDetail`. Attributes down: :meth:`show`, :meth:`clear`."""

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
    ConversationPane #others-writing {
        display: none;
        padding: 0 1;
        background: $warning 25%;
        text-style: bold;
    }
    ConversationPane #others-writing.-shown {
        display: block;
    }
    ConversationPane #read-only-notice {
        display: none;
        padding: 0 1;
        background: $warning 20%;
    }
    ConversationPane #read-only-notice.-shown {
        display: block;
    }
    ConversationPane .thread-note {
        color: $text-muted;
        text-style: italic;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.detail: ConversationDetail | None = None
        #: Fold quoted history and signatures (z toggles).
        self.fold_quotes = True
        self._now = 0.0

    def compose(self) -> ComposeResult:
        yield Static(Text("No conversation selected."), id="conversation-header", markup=False)
        yield Static("", id="others-writing", markup=False)
        yield VerticalScroll(id="thread")
        yield Static("", id="read-only-notice", markup=False)
        yield Composer(id="composer")

    @property
    def thread(self) -> VerticalScroll:
        return self.query_one("#thread", VerticalScroll)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def conversation_id(self) -> int | None:
        return self.detail.row.id if self.detail else None

    async def clear(self, message: str = "No conversation selected.") -> None:
        self.detail = None
        self.query_one("#conversation-header", Static).update(Text(message))
        self.set_read_only(None)
        await self.thread.remove_children()

    def set_others_writing(self, others: list[DraftActivity], now: float) -> None:
        """Show which other agents are writing here, so nobody answers twice unknowingly."""
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

    def set_read_only(self, notice: Text | None) -> None:
        widget = self.query_one("#read-only-notice", Static)
        widget.update(notice or Text(""))
        widget.set_class(notice is not None, "-shown")

    async def toggle_quotes(self) -> bool:
        """Show or fold quoted text in the whole thread; returns whether it is now folded."""
        self.fold_quotes = not self.fold_quotes
        if self.detail is not None:
            await self.show(self.detail, self._now, force=True)
        return self.fold_quotes

    async def show(self, detail: ConversationDetail, now: float, *, force: bool = False) -> None:
        """Display ``detail``; redrawing the same conversation keeps the reading position."""
        same = self.detail is not None and self.detail.row.id == detail.row.id
        if same and self.detail == detail and not force:
            return
        self._now = now
        thread = self.thread
        at_end = thread.scroll_y >= thread.max_scroll_y - 1
        scroll_y = thread.scroll_y
        self.detail = detail
        self.query_one("#conversation-header", Static).update(header_text(detail, now))
        compact = detail.row.channel_kind == "chat"
        widgets: list[Widget] = []
        messages = detail.messages
        if len(messages) > MAX_MESSAGES:
            hidden = len(messages) - MAX_MESSAGES
            widgets.append(
                Static(
                    Text(f"{hidden} earlier messages not shown"),
                    markup=False,
                    classes="thread-note",
                )
            )
            messages = messages[-MAX_MESSAGES:]
        for message in messages:
            content = (
                chat_line(message, now)
                if compact and message.direction != "note"
                else message_text(message, now, fold=self.fold_quotes)
            )
            widgets.append(MessageBox(message, content, compact=compact))
        if not messages:
            widgets.append(Static(Text("No messages."), markup=False, classes="thread-note"))
        widgets.append(Static(contact_text(detail, now), id="contact-panel", markup=False))
        with self.app.batch_update():
            await thread.remove_children()
            await thread.mount_all(widgets)
        if same and not at_end:
            self.call_after_refresh(thread.scroll_to, y=scroll_y, animate=False)
        else:
            self.call_after_refresh(self._scroll_to_last_message)

    def _scroll_to_last_message(self) -> None:
        boxes = list(self.thread.query(MessageBox))
        if boxes:
            self.thread.scroll_to_widget(boxes[-1], animate=False, top=True)
