"""Pick a conversation (where to merge this one, where to move a message): type to filter
by id, subject or customer; enter picks the highlighted one. A typed ``#id`` not in the list
is offered as itself, so any conversation can be named."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ...models import ConversationRow
from ..keys import bindings, keys_of
from ..safe_text import safe_text

#: The list shows the first this many matches; typing narrows the rest.
SHOWN = 50


def matching(rows: Sequence[ConversationRow], typed: str) -> list[ConversationRow]:
    """The rows holding every typed word (in ``#id``, subject or customer name, any case),
    in the order given."""
    words = typed.lower().split()
    found = []
    for row in rows:
        haystack = f"#{row.id} {row.subject} {row.contact_name}".lower()
        if all(word in haystack for word in words):
            found.append(row)
    return found


def typed_id(typed: str) -> int | None:
    """``#42`` or ``42`` typed alone: that id."""
    value = typed.strip().removeprefix("#")
    return int(value) if value.isdigit() else None


class ConversationPickerScreen(ModalScreen[int | None]):
    """Attributes down: the question and the candidate rows (best first). Dismissed with
    the id picked, or None (escape)."""

    BINDINGS = bindings("picker")
    HELP_TITLE = "Pick a conversation"
    DEFAULT_CLASSES = "dialog"

    DEFAULT_CSS = """
    ConversationPickerScreen #conversation-picker-box {
        width: 90%;
        max-width: 100;
        padding: 0 1;
    }
    ConversationPickerScreen #conversation-picker-list {
        height: auto;
        max-height: 12;
    }
    """

    def __init__(self, question: Text, rows: Sequence[ConversationRow]) -> None:
        super().__init__()
        self.question = question
        self.rows = list(rows)
        #: What the options stand for, in order.
        self.shown: list[int] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="conversation-picker-box", classes="dialog-box"):
            title = self.question.copy()
            title.append(f"  enter: pick   {keys_of(self, 'close_picker')}: close", "dim not bold")
            yield Static(
                title, id="conversation-picker-title", classes="dialog-title", markup=False
            )
            yield Input(placeholder="type to filter: #id, subject, customer", id="picker-filter")
            yield OptionList(id="conversation-picker-list")

    def on_mount(self) -> None:
        self._show("")
        self.query_one(Input).focus()

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#conversation-picker-list", OptionList)

    def _show(self, typed: str) -> None:
        found = matching(self.rows, typed)[:SHOWN]
        options = [Option(self._label(row)) for row in found]
        self.shown = [row.id for row in found]
        wanted = typed_id(typed)
        if wanted is not None and wanted not in self.shown:
            options.insert(0, Option(Text(f"#{wanted} (by its id)")))
            self.shown.insert(0, wanted)
        option_list = self.option_list
        option_list.clear_options()
        option_list.add_options(options)
        if options:
            option_list.highlighted = 0

    @staticmethod
    def _label(row: ConversationRow) -> Text:
        label = Text(f"#{row.id}  ", style="bold", end="")
        label.append_text(safe_text(row.subject or "(no subject)", multiline=False))
        label.append("  ")
        label.append_text(safe_text(row.contact_name, "dim", multiline=False))
        label.append(f"  {row.status}", style="dim")
        return label

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._choose()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose()

    def _choose(self) -> None:
        index = self.option_list.highlighted
        if index is None or index >= len(self.shown):
            self.app.bell()
            return
        self.dismiss(self.shown[index])

    def action_picker_down(self) -> None:
        self.option_list.action_cursor_down()

    def action_picker_up(self) -> None:
        self.option_list.action_cursor_up()

    def action_close_picker(self) -> None:
        self.dismiss(None)
