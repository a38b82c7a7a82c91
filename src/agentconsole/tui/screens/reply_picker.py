"""The saved-reply picker the composer opens: type to filter (title, keywords and body,
fuzzy), a live preview of the reply filled in for this conversation, the files that failed
to parse with their error. Enter answers with the filled-in text; a reply whose placeholders
cannot all be filled shows why in the preview and cannot be chosen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ...errors import UsageError
from ...models import ConversationDetail
from ...replies import Agent, ReplyLibrary, SavedReply, fill, rank
from ..keys import bindings, keys_of
from ..safe_text import safe_text

#: The list shows the best this many; typing narrows the rest.
SHOWN = 50


@dataclass(frozen=True, slots=True)
class PickedReply:
    """The reply chosen and its text filled in for the conversation."""

    reply: SavedReply
    text: str


class ReplyPickerScreen(ModalScreen[PickedReply | None]):
    """Attributes down: the library, the conversation and the agent. Dismissed with the
    :class:`PickedReply`, or None (escape)."""

    BINDINGS = bindings("picker")
    HELP_TITLE = "Saved replies"

    DEFAULT_CSS = """
    ReplyPickerScreen {
        align: center middle;
    }
    ReplyPickerScreen #picker-box {
        width: 90%;
        max-width: 100;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: thick $accent;
        background: $surface;
    }
    ReplyPickerScreen #picker-title {
        text-style: bold;
    }
    ReplyPickerScreen #picker-list {
        height: auto;
        max-height: 6;
    }
    ReplyPickerScreen #picker-preview {
        height: auto;
        max-height: 8;
        border-top: solid $accent;
        overflow: hidden;
    }
    ReplyPickerScreen #picker-preview.-error {
        color: $error;
    }
    ReplyPickerScreen #picker-problems {
        height: auto;
        max-height: 3;
        color: $warning;
    }
    """

    def __init__(
        self,
        library: ReplyLibrary,
        detail: ConversationDetail,
        agent: Agent,
        folders: Sequence[Path] = (),
    ) -> None:
        super().__init__()
        self.library = library
        self.folders = tuple(folders)
        self.detail = detail
        self.agent = agent
        #: Only the replies offered on this conversation's channel.
        self.offered = library.offered_on(detail.row.channel, detail.row.channel_kind)
        self.matches: list[SavedReply] = self.offered
        #: Reply name → its filled-in text, or the error saying why it cannot be.
        self._filled: dict[str, str | UsageError] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static(self._title(), id="picker-title", markup=False)
            yield Input(placeholder="type to filter: title, keywords, text", id="picker-filter")
            yield OptionList(id="picker-list")
            yield Static("", id="picker-preview", markup=False)
            yield Static(self._problems(), id="picker-problems", markup=False)

    def on_mount(self) -> None:
        self.query_one("#picker-problems", Static).display = bool(self.library.problems)
        self._show(self.offered)
        self.query_one(Input).focus()

    def _title(self) -> Text:
        title = Text("Insert a saved reply", end="")
        hint = f"  enter: insert   {keys_of(self, 'close_picker')}: close"
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
    def option_list(self) -> OptionList:
        return self.query_one("#picker-list", OptionList)

    @property
    def highlighted(self) -> SavedReply | None:
        index = self.option_list.highlighted
        return self.matches[index] if index is not None and index < len(self.matches) else None

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show(rank(self.offered, event.value))

    def _show(self, matches: list[SavedReply]) -> None:
        self.matches = matches[:SHOWN]
        option_list = self.option_list
        option_list.clear_options()
        option_list.add_options(Option(self._label(reply), id=reply.name) for reply in self.matches)
        if self.matches:
            option_list.highlighted = 0
        self._preview()

    def _label(self, reply: SavedReply) -> Text:
        label = safe_text(reply.title, multiline=False)
        if reply.keywords:
            label.append_text(safe_text("  " + ", ".join(reply.keywords), "dim", multiline=False))
        return label

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._preview()

    def filled(self, reply: SavedReply) -> str | UsageError:
        """The reply's text for this conversation, or why it cannot be used (kept)."""
        if reply.name not in self._filled:
            try:
                self._filled[reply.name] = fill(reply, self.detail, self.agent)
            except UsageError as error:
                self._filled[reply.name] = error
        return self._filled[reply.name]

    def _preview(self) -> None:
        preview = self.query_one("#picker-preview", Static)
        reply = self.highlighted
        if reply is None:
            empty = "no saved reply matches" if self.offered else self._none_offered()
            preview.update(Text(empty, style="italic", end=""))
            preview.remove_class("-error")
            return
        text = self.filled(reply)
        if isinstance(text, UsageError):
            preview.update(safe_text(f"cannot be inserted: {text}"))
            preview.add_class("-error")
        else:
            preview.update(safe_text(text.rstrip("\n")))
            preview.remove_class("-error")

    def _none_offered(self) -> str:
        row = self.detail.row
        if self.library.replies:
            return f"no saved reply is offered on {row.channel} ({row.channel_kind})"
        where = " or ".join(str(folder) for folder in self.folders) or "the replies folder"
        return f"no saved replies yet: put NAME.md files in {where}"

    # -- answering ----------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._choose()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
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
        self.dismiss(PickedReply(reply, text))

    def action_picker_down(self) -> None:
        self.option_list.action_cursor_down()

    def action_picker_up(self) -> None:
        self.option_list.action_cursor_up()

    def action_close_picker(self) -> None:
        self.dismiss(None)
