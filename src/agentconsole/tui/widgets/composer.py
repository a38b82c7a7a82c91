"""The composer: a reply or an internal note, typed inline."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static, TextArea
from textual.worker import Worker, WorkerState

from ...models import Change, ConversationDetail, DraftMacro
from ...plugin import Attachment
from ...replies import Agent, ReplyLibrary, load_library
from ..keys import bindings
from ..messages import Notice
from ..safe_text import safe_text
from ..services import Services
from ..thread_text import size_label
from .reply_picker import PickedReply, ReplyPicker

#: The worker group reading the saved-reply files off the event loop.
LIBRARY_GROUP = "reply-library"
#: The customer's last message quoted above the text, at most (fewer on a short screen).
QUOTE_LINES = 6


class Composer(Vertical):
    """Attributes down: :meth:`start` opens it on a conversation with a title, an optional
    quote (already sanitized ``Text``) and the restored draft. Messages up: :class:`Send`,
    :class:`Closed` (with what was typed, to keep as a draft) and :class:`DraftChanged`.
    """

    BINDINGS = bindings("composer") + bindings("", only=("back",))
    HELP_TITLE = "Composer"

    COMPONENT_CLASSES = {"composer--title"}

    DEFAULT_CSS = """
    Composer {
        height: auto;
        max-height: 60%;
        border-top: heavy $accent;
        border-title-align: right;
        border-title-color: $text;
        padding: 0 1;
        display: none;
    }
    Composer.-open {
        display: block;
    }
    Composer.-note {
        border-top: heavy $warning;
        background: $warning 10%;
    }
    Composer #composer-title {
        text-style: bold;
    }
    Composer #composer-quote {
        color: $text-muted;
        overflow: hidden;
    }
    Composer TextArea {
        height: auto;
        min-height: 5;
        max-height: 16;
    }
    """

    class Send(Message):
        def __init__(
            self,
            conversation_id: int,
            kind: str,
            body: str,
            attachments: tuple[Attachment, ...],
            *,
            anyway: bool = False,
            saved_replies: tuple[DraftMacro, ...] = (),
            after: str = "stay",
        ) -> None:
            super().__init__()
            self.conversation_id = conversation_id
            self.kind = kind
            self.body = body
            self.attachments = attachments
            #: Send even though another agent replied meanwhile (the agent confirmed).
            self.anyway = anyway
            #: The saved replies inserted, whose macro actions apply when this is sent.
            self.saved_replies = saved_replies
            #: What follows the send: one of ``config.AFTER_SEND`` (stay, next, close, pending).
            self.after = after

        @property
        def advances(self) -> bool:
            """Whether the next conversation of the view opens once this is sent."""
            return self.after != "stay"

        @property
        def then_status(self) -> str | None:
            """The status the send key asked for (close, pending), else the one the last
            inserted saved reply leaves the conversation in."""
            if self.after in ("close", "pending"):
                return "closed" if self.after == "close" else "pending"
            statuses = [r.status for r in self.saved_replies if r.status]
            return statuses[-1] if statuses else None

        @property
        def tag_change(self) -> Change | None:
            """The inserted saved replies' tag changes, as one change (None: no tags)."""
            add: list[str] = []
            remove: list[str] = []
            for reply in self.saved_replies:
                more, fewer = reply.tag_changes
                add += more
                remove += fewer
            if not add and not remove:
                return None
            return Change(
                "tags", add=tuple(dict.fromkeys(add)), remove=tuple(dict.fromkeys(remove))
            )

    class AttachRequested(Message):
        """The agent wants to attach a file (the owner asks where and checks the channel)."""

    class Closed(Message):
        def __init__(self, conversation_id: int, kind: str, body: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id
            self.kind = kind
            self.body = body

    class Toggled(Message):
        """The composer opened or closed (the screen makes room for it)."""

        def __init__(self, is_open: bool) -> None:
            super().__init__()
            self.is_open = is_open

    class DraftChanged(Message):
        def __init__(self, conversation_id: int, kind: str, body: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id
            self.kind = kind
            self.body = body

    def __init__(
        self, services: Services, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.services = services
        self.conversation_id: int | None = None
        #: The conversation being answered (what saved replies are filled in from).
        self.detail: ConversationDetail | None = None
        #: Saved replies inserted since the composer opened.
        self.saved_replies: list[DraftMacro] = []
        self.kind = "reply"
        self._loading = False
        #: Files to send with the reply (never with a note).
        self.attachments: list[Attachment] = []
        #: The saved replies as last read (in the background): what ctrl+r opens on.
        self.library: ReplyLibrary | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="composer-title", markup=False)
        yield Static("", id="composer-quote", markup=False)
        yield TextArea(id="composer-body", soft_wrap=True, show_line_numbers=False)
        yield Static("", id="composer-attachments", markup=False)

    def _show_macros(self) -> None:
        """What the inserted saved replies do on send ("on send: +outage, pending"), in the
        composer's top border: a line of its own was the first cut off when the screen is
        short (80x24), and the agent must see what sending will do."""
        actions = [
            word for reply in self.saved_replies for word in (*reply.tags, reply.status or "")
        ]
        actions = list(dict.fromkeys(word for word in actions if word))
        if not actions:
            self.border_title = None
            return
        text = Text(" on send: ", end="")
        text.append_text(safe_text(", ".join(actions), "bold", multiline=False))
        text.append(" ")
        self.border_title = text  # a Text: shown as it is, never read as markup

    @property
    def on_send(self) -> str:
        """The "on send: …" line as shown ("" when the saved replies inserted do nothing)."""
        title = self._border_title
        return title.plain.strip() if title is not None else ""

    def fit_quote(self) -> None:
        """Give the quote only the lines the text area leaves: on a short screen the
        composer's own height is capped, and what overflows it is cut from the bottom —
        which was the text area being typed in. Called again when the desk holding it
        changes size (its own size follows its content, so it cannot tell)."""
        quote = self.query_one("#composer-quote", Static)
        parent = self.parent
        limit = self.styles.max_height
        if not isinstance(parent, Widget) or limit is None or not self.is_open:
            return
        most = int(limit.resolve(parent.size, self.app.size))
        text_min = self.text_area.styles.min_height
        kept = 1 + 1 + (int(text_min.value) if text_min is not None else 0)  # border, title
        if self.attachments:
            kept += 1
        room = max(0, min(QUOTE_LINES, most - kept))
        quote.styles.max_height = room

    def add_attachment(self, attachment: Attachment) -> None:
        self.attachments.append(attachment)
        self._show_attachments()

    def _show_attachments(self) -> None:
        widget = self.query_one("#composer-attachments", Static)
        text = Text(end="")
        for attachment in self.attachments:
            text.append("📎 ", style="dim")
            text.append_text(safe_text(attachment.filename, multiline=False))
            text.append(f" ({size_label(len(attachment.data))})  ", style="dim")
        widget.update(text)
        widget.display = bool(self.attachments)
        self.fit_quote()

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def text_area(self) -> TextArea:
        return self.query_one("#composer-body", TextArea)

    @property
    def body(self) -> str:
        return self.text_area.text

    def start(
        self,
        conversation_id: int,
        kind: str,
        title: Text,
        quote: Text | None,
        body: str,
        detail: ConversationDetail | None = None,
        saved_replies: tuple[DraftMacro, ...] = (),
    ) -> None:
        """Open on ``conversation_id`` (``kind`` reply or note) with ``body`` typed;
        ``detail`` is what saved replies are filled in from; ``saved_replies`` those
        inserted into this draft before (their actions still apply on send)."""
        self.conversation_id = conversation_id
        self.kind = kind
        self.detail = detail
        self.saved_replies = list(saved_replies)
        self._show_macros()
        self.set_class(kind == "note", "-note")
        self.query_one("#composer-title", Static).update(title)
        quote_widget = self.query_one("#composer-quote", Static)
        quote_widget.update(quote or Text(""))
        quote_widget.display = quote is not None
        self._loading = True
        self.text_area.load_text(body)
        self.text_area.move_cursor(self.text_area.document.end)
        self.attachments = []
        self._show_attachments()
        self.add_class("-open")
        self.fit_quote()
        self.text_area.focus()
        self.post_message(self.Toggled(True))
        if kind == "reply":
            # Read the saved replies now, off the event loop, so the picker opens at once.
            self._read_library()

    def _read_library(self) -> None:
        """Read the reply files in a thread (only those changed since are parsed again);
        :attr:`library` and an open picker get the result."""
        folders = self.services.config.reply_folders
        self.run_worker(
            lambda: load_library(folders),
            thread=True,
            group=LIBRARY_GROUP,
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == LIBRARY_GROUP and event.state == WorkerState.SUCCESS:
            library = worker.result
            if isinstance(library, ReplyLibrary):
                self.library = library
                self.post_message(ReplyPicker.LibraryRead(library))

    def set_body(self, body: str) -> None:
        """Replace the text (e.g. coming back from ``$EDITOR``); reported as a change."""
        self.text_area.load_text(body)
        self.text_area.move_cursor(self.text_area.document.end)

    def stop(self) -> None:
        """Close without a message (the owner already took the text)."""
        was_open = self.is_open
        self.remove_class("-open")
        self.conversation_id = None
        self.saved_replies = []
        if was_open:
            self.post_message(self.Toggled(False))

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        if self._loading:
            # load_text's own Changed event: nothing typed yet.
            self._loading = False
            return
        self._changed()

    def _changed(self) -> None:
        if self.conversation_id is not None:
            self.post_message(self.DraftChanged(self.conversation_id, self.kind, self.body))

    def action_send(self, then: str | None = None) -> None:
        """Send; ``then`` is ``"close"`` or ``"pending"`` (the variant keys), else
        ``[compose] after_send`` decides what follows. A note never changes the status."""
        if self.conversation_id is not None:
            after = then or self.services.config.after_send
            if self.kind == "note":
                after = "stay"
            self.post_message(
                self.Send(
                    self.conversation_id,
                    self.kind,
                    self.body,
                    tuple(self.attachments),
                    saved_replies=tuple(self.saved_replies),
                    after=after,
                )
            )

    def action_insert_reply(self) -> None:
        """Open the saved-reply picker; the chosen reply, filled in, goes in at the cursor."""
        detail = self.detail
        if self.conversation_id is None or detail is None:
            return
        if self.kind == "note":
            self.post_message(Notice("Saved replies go into replies, not notes.", "warning"))
            return
        config = self.services.config
        # The files as read when the composer opened (read now only if that is not done
        # yet); read again once the picker closes, for its next opening. (Reading them
        # while it opens would hold up its first paint: the thread competes for the GIL.)
        library = self.library or load_library(config.reply_folders)
        agent = Agent(config.agent, config.display_name)
        self.post_message(
            ReplyPicker.Requested(library, detail, agent, config.reply_folders, self._insert)
        )

    def _insert(self, picked: PickedReply | None) -> None:
        if picked is not None and self.is_open and self.conversation_id is not None:
            self.text_area.insert(picked.text)
            self.saved_replies.append(picked.reply.macro)
            self.services.drafts.keep_inserted(
                self.conversation_id, self.kind, tuple(self.saved_replies)
            )
            self._show_macros()
        self.text_area.focus()
        self._read_library()

    def action_attach(self) -> None:
        if self.conversation_id is not None:
            if self.kind == "note":
                self.post_message(
                    Notice("Notes cannot carry files; attach them to a reply.", "warning")
                )
                return
            self.post_message(self.AttachRequested())

    def action_back(self) -> None:
        if self.conversation_id is not None:
            self.post_message(self.Closed(self.conversation_id, self.kind, self.body))
        self.stop()
