"""The help screen: every key, generated from the live bindings and the user's keymap."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def describe(
    app: App[object],
    sections: Iterable[tuple[str, Iterable[BindingType]]],
    keymap: Mapping[str, str],
) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(keys, description)]) for every binding with a description, the user's
    keymap applied. A binding id listed in an earlier section is not repeated."""
    seen: set[str] = set()
    result: list[tuple[str, list[tuple[str, str]]]] = []
    for title, bindings in sections:
        bindings_map = BindingsMap(bindings)
        if keymap:
            bindings_map.apply_keymap(dict(keymap))
        grouped: dict[str, tuple[list[str], str]] = {}
        for _key, binding in bindings_map:
            if not binding.description:
                continue
            name = binding.id or binding.action
            if name in seen:
                continue
            keys, _ = grouped.setdefault(name, ([], binding.description))
            display = app.get_key_display(binding)
            if display not in keys:
                keys.append(display)
        if grouped:
            seen.update(grouped)
            result.append((title, [(" ".join(keys), text) for keys, text in grouped.values()]))
    return result


def help_text(sections: list[tuple[str, list[tuple[str, str]]]]) -> Text:
    text = Text(end="")
    for index, (title, rows) in enumerate(sections):
        if index:
            text.append("\n")
        text.append(title + "\n", style="bold underline")
        for keys, description in rows:
            text.append(f"  {keys:<14}", style="bold cyan")
            text.append(description + "\n")
    return text


class HelpScreen(ModalScreen[None]):
    """Keys of the app, by where they apply."""

    BINDINGS = [Binding("escape,q,question_mark", "close_help", "Close help")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        half = (len(self.sections) + 1) // 2
        with VerticalScroll(id="help-box"):
            yield Static(
                Text("Keys — remap any of them in [keys] of the config", style="bold"),
                markup=False,
                id="help-title",
            )
            with Horizontal(id="help-columns"):
                yield Static(help_text(self.sections[:half]), markup=False, classes="help-column")
                yield Static(help_text(self.sections[half:]), markup=False, classes="help-column")

    def action_close_help(self) -> None:
        self.dismiss(None)
