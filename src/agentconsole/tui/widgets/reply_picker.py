"""The saved-reply picker the composer opens: type to filter (title, keywords and body,
fuzzy), a live preview of the reply filled in for this conversation, the files that failed
to parse with their error. Enter answers with the filled-in text; a reply whose placeholders
cannot all be filled shows why in the preview and cannot be chosen.

It is a widget of the main screen drawn over it (its ``overlay`` layer), composed once and
shown on demand — not a screen pushed for each use: pushing a modal screen re-laid out and
repainted the whole console under it (translucent) and made ctrl+r → preview cost several
hundred milliseconds; showing this box repaints only its own region.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Spacing
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from ...errors import UsageError
from ...models import ConversationDetail
from ...replies import Agent, ReplyLibrary, SavedReply, fill, rank
from ..keys import bindings, keys_of
from ..safe_text import safe_text
from .reply_list import ReplyList

#: The picker's title when it inserts into the composer (the bulk reply names its own).
INSERT = "Insert a saved reply"


@dataclass(frozen=True, slots=True)
class PickedReply:
    """The reply chosen and its text filled in for the conversation."""

    reply: SavedReply
    text: str


class ReplyPicker(Vertical):
    """Attributes down: :meth:`open` with the library, the conversation, the agent and
    what to call with the :class:`PickedReply` (or None: escape, or focus taken elsewhere).
    Hidden while closed; focus goes back where it was."""

    BINDINGS = bindings("picker")
    HELP_TITLE = "Saved replies"

    DEFAULT_CSS = """
    ReplyPicker {
        layer: overlay;
        dock: bottom;
        display: none;
        width: 100%;
        height: auto;
        max-height: 80%;
        margin-bottom: 2;
        padding: 0 1;
        border: thick $accent;
        background: $surface;
    }
    ReplyPicker #picker-title {
        text-style: bold;
    }
    ReplyPicker #picker-preview {
        height: auto;
        max-height: 8;
        border-top: solid $accent;
        overflow: hidden;
    }
    ReplyPicker #picker-preview.-error {
        color: $error;
    }
    ReplyPicker #picker-problems {
        height: auto;
        max-height: 3;
        color: $warning;
    }
    """

    class Requested(Message):
        """Open the picker (posted up by the composer or the bulk reply; the screen
        holding the picker opens it)."""

        def __init__(
            self,
            library: ReplyLibrary,
            detail: ConversationDetail,
            agent: Agent,
            folders: Sequence[Path],
            done: Callable[[PickedReply | None], None],
            title: str = INSERT,
        ) -> None:
            super().__init__()
            self.library = library
            self.detail = detail
            self.agent = agent
            self.folders = folders
            self.done = done
            #: What choosing does ("Send a saved reply to 5 conversations").
            self.title = title

    class LibraryRead(Message):
        """The reply files were read again (in the background): an open picker shows
        what changed."""

        def __init__(self, library: ReplyLibrary) -> None:
            super().__init__()
            self.library = library

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.library = ReplyLibrary((), ())
        self.folders: tuple[Path, ...] = ()
        self.detail: ConversationDetail | None = None
        self.agent = Agent("", "")
        #: Only the replies offered on this conversation's channel.
        self.offered: list[SavedReply] = []
        self.matches: list[SavedReply] = []
        #: Reply name → its filled-in text, or the error saying why it cannot be.
        self._filled: dict[str, str | UsageError] = {}
        self._done: Callable[[PickedReply | None], None] | None = None
        self._focus_before: Widget | None = None
        #: What each of its lines shows now (see :meth:`_put`).
        self._shown: dict[str, tuple[object, ...]] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="picker-title", markup=False)
        yield Input(placeholder="type to filter: title, keywords, text", id="picker-filter")
        yield ReplyList(id="picker-list")
        yield Static("", id="picker-preview", markup=False)
        yield Static("", id="picker-problems", markup=False)

    @property
    def is_open(self) -> bool:
        return self.display

    def open(
        self,
        library: ReplyLibrary,
        detail: ConversationDetail,
        agent: Agent,
        folders: Sequence[Path],
        done: Callable[[PickedReply | None], None],
        title: str = INSERT,
    ) -> None:
        """Show the picker on ``detail``'s channel's replies, the filter empty and focused;
        ``done`` is called once with the choice (None when none was made)."""
        if self.is_open:
            self.close(None)
        self.detail = detail
        self.agent = agent
        self.folders = tuple(folders)
        self._done = done
        self._focus_before = self.screen.focused
        self._put("#picker-title", self._title(title))
        self._use(library)
        self.query_one(Input).value = ""
        # Shown by its own style, not a class: a class change makes Textual match the
        # stylesheet against the picker and everything in it again before the first paint.
        self.display = True
        self._lift_toasts()
        self.query_one(Input).focus()

    def refresh_library(self, library: ReplyLibrary) -> None:
        """Newer files read meanwhile: shown at once when anything changed."""
        if self.is_open and library != self.library:
            self._use(library)
            self._show(rank(self.offered, self.query_one(Input).value))

    def _use(self, library: ReplyLibrary) -> None:
        detail = self.detail
        assert detail is not None
        self.library = library
        self.offered = library.offered_on(detail.row.channel, detail.row.channel_kind)
        self._filled = {}
        problems = self._put("#picker-problems", self._problems())
        problems.display = bool(library.problems)
        self._show(self.offered)

    def close(self, picked: PickedReply | None) -> None:
        """Hide, give focus back, and answer (once)."""
        if not self.is_open:
            return
        self.display = False
        self._lift_toasts()
        done, self._done = self._done, None
        before, self._focus_before = self._focus_before, None
        if before is not None and before.is_attached and before.focusable:
            before.focus()
        if done is not None:
            done(picked)

    def on_resize(self) -> None:
        self._lift_toasts()

    def _lift_toasts(self) -> None:
        """While open, notifications stack above the picker instead of over it: Textual
        docks them at the screen's bottom right, on top of everything, where they hid the
        picker's preview and, several at once or on a short screen, its title and hints."""
        racks = self.screen.query("ToastRack")  # Textual's own widget: matched by name
        if not racks:
            return
        rack = racks.first()
        if not self.is_open:
            rack.styles.margin = None  # back to Textual's own place
            return
        below = self.styles.margin.bottom  # the status line and the footer
        lift = (0, 0, self.outer_size.height + below, 0)
        if rack.styles.margin != Spacing.unpack(lift):
            rack.styles.margin = lift

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        """Focus taken elsewhere (a click): the picker closes, nothing chosen."""
        self.call_after_refresh(self._close_unless_focused)

    def _close_unless_focused(self) -> None:
        focused = self.screen.focused
        if self.is_open and (focused is None or self not in focused.ancestors_with_self):
            self._focus_before = focused
            self.close(None)

    def _title(self, what: str) -> Text:
        title = Text(what, end="")
        verb = "insert" if what == INSERT else "choose"
        hint = f"  enter: {verb}   {keys_of(self, 'close_picker')}: close"
        title.append(hint, style="dim not bold")
        return title

    def _problems(self) -> Text:
        text = Text(end="")
        for problem in self.library.problems:
            if text:
                text.append("\n")
            text.append("⚠ ")
            text.append_text(safe_text(f"{problem.path.name}: {problem.message}", multiline=False))
        return text

    # -- filtering and preview ----------------------------------------------------------

    @property
    def reply_list(self) -> ReplyList:
        return self.query_one("#picker-list", ReplyList)

    @property
    def highlighted(self) -> SavedReply | None:
        return self.reply_list.current

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show(rank(self.offered, event.value))

    def _show(self, matches: list[SavedReply]) -> None:
        self.matches = matches
        self.reply_list.show(matches)
        self._preview()

    def on_reply_list_highlighted(self, event: ReplyList.Highlighted) -> None:
        event.stop()
        self._preview()

    def filled(self, reply: SavedReply) -> str | UsageError:
        """The reply's text for this conversation, or why it cannot be used (kept)."""
        if reply.name not in self._filled:
            assert self.detail is not None
            try:
                self._filled[reply.name] = fill(reply, self.detail, self.agent)
            except UsageError as error:
                self._filled[reply.name] = error
        return self._filled[reply.name]

    def _preview(self) -> None:
        reply = self.highlighted
        if reply is None:
            empty = "no saved reply matches" if self.offered else self._none_offered()
            self._put("#picker-preview", Text(empty, style="italic", end=""), error=False)
            return
        text = self.filled(reply)
        if isinstance(text, UsageError):
            self._put("#picker-preview", safe_text(f"cannot be inserted: {text}"), error=True)
        else:
            self._put("#picker-preview", safe_text(text.rstrip("\n")), error=False)

    def _put(self, selector: str, text: Text, *, error: bool | None = None) -> Static:
        """Show ``text`` in the picker's line ``selector`` (``error``: in the error colour),
        leaving it alone when it already shows that: an update lays the whole screen out
        again, and each opening and highlight asked for the same text twice or more."""
        widget = self.query_one(selector, Static)
        shown = (text.plain, str(text.style), tuple(text.spans))  # Text's == skips its style
        if self._shown.get(selector) != shown:
            self._shown[selector] = shown
            widget.update(text)
        if error is not None:
            widget.set_class(error, "-error")
        return widget

    def _none_offered(self) -> str:
        assert self.detail is not None
        row = self.detail.row
        if self.library.replies:
            return f"no saved reply is offered on {row.channel} ({row.channel_kind})"
        where = " or ".join(str(folder) for folder in self.folders) or "the replies folder"
        return f"no saved replies yet: put NAME.md files in {where}"

    # -- answering ----------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._choose()

    def on_reply_list_chosen(self, event: ReplyList.Chosen) -> None:
        event.stop()
        self._choose()

    def _choose(self) -> None:
        reply = self.highlighted
        if reply is None:
            return
        text = self.filled(reply)
        if isinstance(text, UsageError):
            self.app.bell()
            return
        self.close(PickedReply(reply, text))

    def action_picker_down(self) -> None:
        self.reply_list.move(1)

    def action_picker_up(self) -> None:
        self.reply_list.move(-1)

    def action_close_picker(self) -> None:
        self.close(None)
