"""The help screen: the keys of what has focus and of everything around it, by where they
apply, generated from the live bindings with the user's keymap applied.

A widget, screen or app takes part by naming its section in ``HELP_TITLE``; the focused
widget's section comes first, then its ancestors' up to "Everywhere" (the app).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from ...views import BUILT_IN, SPAM
from ..keys import bindings

#: (section title, [(keys, description)]).
Sections = list[tuple[str, list[tuple[str, str]]]]


def help_chain(screen: Screen[object]) -> list[DOMNode]:
    """The focused widget and its ancestors (the screen and the app when nothing has focus)."""
    focused = screen.focused
    return list(focused.ancestors_with_self) if focused is not None else [screen, screen.app]


def describe(app: App[Any], nodes: Iterable[DOMNode]) -> Sections:
    """The sections of ``nodes`` that have a ``HELP_TITLE``: every binding with a
    description, the app's keymap applied, each binding id listed once (where it is closest
    to the focus). Sections with the same title are merged."""
    seen: set[str] = set()
    grouped: dict[str, dict[str, tuple[list[str], str]]] = {}
    for node in nodes:
        title = getattr(node, "HELP_TITLE", None)
        if not title:
            continue
        bindings_map = node._bindings.copy()
        if app._keymap:
            bindings_map.apply_keymap(app._keymap)
        section = grouped.setdefault(title, {})
        for _key, binding in bindings_map:
            name = binding.id or binding.action
            if not binding.description or (name in seen and name not in section):
                continue
            keys, _ = section.setdefault(name, ([], binding.description))
            display = app.get_key_display(binding)
            if display not in keys:
                keys.append(display)
        seen.update(section)
    return [
        (title, [(" ".join(keys), text) for keys, text in rows.values()])
        for title, rows in grouped.items()
        if rows
    ]


def help_text(sections: Sections) -> Group:
    """Sections one under another; a long description wraps under itself, not under the
    keys."""
    parts: list[RenderableType] = []
    for index, (title, rows) in enumerate(sections):
        parts.append(Text(("\n" if index else "") + title, style="bold underline"))
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(width=15, style="bold cyan", no_wrap=True, overflow="fold")
        grid.add_column(ratio=1)
        for keys, description in rows:
            grid.add_row(Text(keys), Text(description))
        parts.append(grid)
    return Group(*parts)


def split_point(sections: Sections) -> int:
    """Where the sections split into two columns of about the same height."""
    heights = [len(rows) + 2 for _, rows in sections]
    total = sum(heights)
    best, best_height = 0, total
    for index in range(len(sections) + 1):
        left = sum(heights[:index])
        if max(left, total - left) < best_height:
            best, best_height = index, max(left, total - left)
    return best


def two_columns(sections: Sections) -> tuple[Sections, Sections]:
    """The sections in two columns of about the same height; a section much longer than
    the rest (the conversation's keys) continues at the top of the right column."""
    half = split_point(sections)
    left, right = sections[:half], sections[half:]
    height = sum(len(rows) + 2 for _, rows in left)
    other = sum(len(rows) + 2 for _, rows in right)
    if not left or height - other < 8:
        return left, right
    title, rows = left[-1]
    move = (height - other) // 2
    keep = rows[: len(rows) - move]
    return [*left[:-1], (title, keep)], [(f"{title} (more)", rows[len(keep) :]), *right]


def views_text() -> Group:
    """The built-in views with the query each one is (what ``/`` takes, too)."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=15, style="bold", no_wrap=True)
    grid.add_column(ratio=1, style="cyan")
    for definition in (*BUILT_IN, SPAM):
        grid.add_row(Text(definition.label), Text(definition.query))
    title = Text("\nViews — each is a query; type your own after / and keep it with S")
    title.stylize("bold underline")
    return Group(title, grid)


class HelpScreen(ModalScreen[None]):
    """The keys that work where the agent is (see the module docstring)."""

    BINDINGS = bindings("help")
    DEFAULT_CLASSES = "dialog"

    def __init__(self, sections: Sections) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        left, right = two_columns(self.sections)
        with VerticalScroll(id="help-box", classes="dialog-box"):
            title = Text("Keys here and around — remap any in [keys] of the config", "bold")
            yield Static(title, markup=False, id="help-title")
            with Horizontal(id="help-columns"):
                yield Static(help_text(left), markup=False, classes="help-column")
                yield Static(help_text(right), markup=False, classes="help-column")
            yield Static(views_text(), markup=False, id="help-views")
            note = "In the composer, ctrl+p → Help lists its keys (? types a question mark)."
            yield Static(Text(note, style="dim"), markup=False, id="help-note")

    def action_close_help(self) -> None:
        self.dismiss(None)
