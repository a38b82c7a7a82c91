"""Small modal questions: a line of text, a choice, a yes/no."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ...errors import AgentConsoleError
from ..keys import bindings, keys_of

#: Turns what was typed into a preview of what will happen; raises to say it is not valid.
Check = Callable[[str], Text | None]
T = TypeVar("T")
#: What to do with an answer: a plain function, or a coroutine run in a worker of the asker.
Answer = Callable[[T], Awaitable[None] | None]


def _answered(asker: Widget, answer: Answer[T]) -> Callable[[T | None], None]:
    def callback(value: T | None) -> None:
        if value is None or value is False:
            return
        result = answer(value)
        if inspect.isawaitable(result):
            asker.run_worker(result, group="answers", exit_on_error=False)

    return callback


def ask_line(
    asker: Widget,
    question: Text,
    answer: Answer[str],
    *,
    value: str = "",
    placeholder: str = "",
    check: Check | None = None,
) -> None:
    """Ask for a line of text; ``answer`` gets it (never called on cancel)."""
    screen = PromptScreen(question, value=value, placeholder=placeholder, check=check)
    asker.app.push_screen(screen, _answered(asker, answer))


def ask_choice(
    asker: Widget,
    question: Text,
    choices: Sequence[str],
    answer: Answer[str],
    current: str | None = None,
) -> None:
    """Ask for one of ``choices``; ``answer`` gets it (never called on cancel)."""
    asker.app.push_screen(ChoiceScreen(question, choices, current), _answered(asker, answer))


def ask_yes(asker: Widget, question: Text, answer: Callable[[], Awaitable[None] | None]) -> None:
    """Ask yes or no; ``answer`` runs on yes."""
    asker.app.push_screen(ConfirmScreen(question), _answered(asker, lambda _yes: answer()))


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line. ``check`` validates (and may preview) as the agent types; a
    submitted value that does not pass is not accepted and the error is shown inline."""

    BINDINGS = bindings("prompt")
    HELP_TITLE = "Question"
    DEFAULT_CLASSES = "dialog"

    def __init__(
        self,
        question: Text,
        *,
        value: str = "",
        placeholder: str = "",
        check: Check | None = None,
    ) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box", classes="dialog-box"):
            yield Static(self.question, id="prompt-question", markup=False)
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static("", id="prompt-feedback", markup=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._validate(event.value, quiet=True)

    def _validate(self, value: str, *, quiet: bool) -> bool:
        feedback = self.query_one("#prompt-feedback", Static)
        if self.check is None:
            return True
        try:
            preview = self.check(value)
        except (AgentConsoleError, ValueError) as error:
            message = Text(str(error), style="italic" if quiet else "bold red")
            feedback.update(message if value.strip() or not quiet else Text(""))
            feedback.set_class(not quiet, "-error")
            return False
        feedback.update(preview or Text(""))
        feedback.remove_class("-error")
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._validate(event.value, quiet=False):
            self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of a few fixed choices (with the first letter as a shortcut)."""

    BINDINGS = bindings("prompt")
    HELP_TITLE = "Question"
    DEFAULT_CLASSES = "dialog"

    def __init__(self, question: Text, choices: Sequence[str], current: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.choices = list(choices)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box", classes="dialog-box"):
            yield Static(self.question, id="prompt-question", markup=False)
            options = [
                Option(Text.assemble((choice[0], "bold underline"), choice[1:]), id=choice)
                for choice in self.choices
            ]
            yield OptionList(*options, id="choice-list")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        if self.current in self.choices:
            option_list.highlighted = self.choices.index(self.current)
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def on_key(self, event: events.Key) -> None:
        character = event.character
        if not character or not character.isalpha():
            return
        for choice in self.choices:
            if choice.startswith(character.lower()):
                event.stop()
                self.dismiss(choice)
                return

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: ``y`` or enter says yes, ``n`` or escape says no."""

    BINDINGS = bindings("confirm")
    HELP_TITLE = "Question"
    DEFAULT_CLASSES = "dialog"

    def __init__(self, question: Text) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box", classes="dialog-box"):
            yield Static(self.question, id="prompt-question", markup=False)
            hint = f"{keys_of(self, 'yes')}: yes    {keys_of(self, 'no')}: no"
            yield Static(Text(hint, style="dim"), markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
