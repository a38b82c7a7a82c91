"""Pick a colleague to assign to: the agents the store knows, narrowed as you type.

Enter takes the highlighted agent; a name nobody has used yet can still be typed and taken
(a new colleague). The first entry is "nobody", which unassigns.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..keys import bindings
from ..safe_text import safe_text

#: The option that unassigns (never an agent's name: it holds a space).
NOBODY = "nobody (unassign)"


def matching(agents: Sequence[str], typed: str) -> list[str]:
    """The agents whose name holds ``typed`` (any case), those starting with it first."""
    wanted = typed.strip().lower()
    found = [agent for agent in agents if wanted in agent.lower()]
    return sorted(found, key=lambda agent: not agent.lower().startswith(wanted))


class AgentPickerScreen(ModalScreen[str | None]):
    """Dismissed with an agent's name, ``""`` for nobody, or None (escape)."""

    BINDINGS = bindings("prompt") + bindings("picker", only=("picker_down", "picker_up"))
    HELP_TITLE = "Assign to"
    DEFAULT_CLASSES = "dialog"

    DEFAULT_CSS = """
    AgentPickerScreen #agent-box {
        width: 60;
        padding: 0 1;
    }
    AgentPickerScreen #agent-list {
        height: auto;
        max-height: 10;
    }
    """

    def __init__(self, question: Text, agents: Sequence[str], current: str | None) -> None:
        super().__init__()
        self.question = question
        self.agents = [agent for agent in agents if agent != current]
        self.current = current
        self.shown: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="agent-box", classes="dialog-box"):
            yield Static(self.question, markup=False)
            yield Input(placeholder="type to filter, or a new colleague's name", id="agent-filter")
            yield OptionList(id="agent-list")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, typed: str) -> None:
        names = matching(self.agents, typed)
        if not typed.strip() and self.current is not None:
            names = [NOBODY, *names]
        self.shown = names
        option_list = self.query_one(OptionList)
        option_list.clear_options()
        option_list.add_options(
            [
                Option(
                    Text(NOBODY, style="yellow")
                    if name == NOBODY
                    else safe_text(name, multiline=False),
                    id=name,
                )
                for name in names
            ]
        )
        if names:
            option_list.highlighted = 0

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        option_list = self.query_one(OptionList)
        index = option_list.highlighted
        if index is not None and 0 <= index < len(self.shown):
            self._choose(self.shown[index])
            return
        typed = event.value.strip()
        if typed and not any(char.isspace() for char in typed):
            self.dismiss(typed)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self._choose(event.option.id)

    def _choose(self, name: str) -> None:
        self.dismiss("" if name == NOBODY else name)

    def action_picker_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_picker_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)
