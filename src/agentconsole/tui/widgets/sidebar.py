"""The sidebar: the views of the queue with live counts."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.events import Click
from textual.message import Message
from textual.widget import Widget

from ... import views
from ...models import View
from ...sanitize import one_line
from ...views import ViewDefinition
from ..formatting import fit, kind_icon

#: The sidebar's sections, by where a view comes from (channels and tags have their own).
SECTIONS = {"built-in": "Views", "personal": "My views", "shared": "Team views"}
#: Views listed only while they hold something (or are shown): Spam, once anything is
#: marked or screened as spam — until then it is one more zero to read past.
LISTED_WHEN_FULL = frozenset({views.SPAM.key})


def view_of(definition: ViewDefinition) -> View:
    """The queue view that runs ``definition``: a built-in, channel or tag view by its key,
    a personal or shared one by its query and order."""
    if definition.source != "built-in":
        return View("query", definition.key, definition.query, definition.order)
    kind, _, arg = definition.key.partition(":")
    return View(kind, arg)


def view_label(view: View, kinds: Mapping[str, str] | None = None) -> str:
    """A plain label for a view (outside names cleaned; for Text, never markup)."""
    for fixed in (*views.BUILT_IN, views.SPAM):
        if fixed.key == view.key and view.kind != "query":
            return fixed.label
    if view.kind == "channel":
        icon = kind_icon((kinds or {}).get(view.arg, ""))
        return f"{icon} {one_line(view.arg)}"
    if view.kind == "tag":
        return f"#{one_line(view.arg)}"
    if view.kind == "search":
        return f"Search: {one_line(view.arg)}"
    if view.kind == "query":
        return one_line(view.arg.removeprefix("view:"))
    if view.kind == "all":
        return "Everything"
    return one_line(view.key)


def _group(definition: ViewDefinition) -> str:
    if definition.source == "built-in":
        if definition.key.startswith("channel:"):
            return "Channels"
        if definition.key.startswith("tag:"):
            return "Tags"
    return SECTIONS[definition.source]


class Sidebar(Widget):
    """Views with counts. Attributes down: :meth:`update_views`; messages up:
    :class:`Selected` when a view is clicked."""

    COMPONENT_CLASSES = {
        "sidebar--heading",
        "sidebar--current",
        "sidebar--count",
        "sidebar--zero",
    }

    DEFAULT_CSS = """
    Sidebar {
        width: 26;
        height: 1fr;
        padding: 0 1;
        background: $panel;
    }
    Sidebar > .sidebar--heading {
        color: $text-muted;
        text-style: bold;
    }
    Sidebar > .sidebar--current {
        background: $accent 45%;
        text-style: bold;
    }
    Sidebar > .sidebar--count {
        color: $text;
    }
    Sidebar > .sidebar--zero {
        color: $text-muted;
    }
    """

    class Selected(Message):
        def __init__(self, view: View) -> None:
            super().__init__()
            self.view = view

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: Every view :func:`agentconsole.views.sidebar` gives; :attr:`definitions` are
        #: those listed.
        self.every: list[ViewDefinition] = [*views.BUILT_IN, views.SPAM]
        self.definitions: list[ViewDefinition] = list(views.BUILT_IN)
        self.views: list[View] = [view_of(d) for d in self.definitions]
        self.counts: dict[str, int] = {}
        self.kinds: dict[str, str] = {}
        #: Channel name → its health ("connected", "syncing", "error", …).
        self.health: dict[str, str] = {}
        self.current: View = View("open")
        self._line_views: list[View | None] = []

    def update_views(
        self,
        counts: Mapping[str, int],
        current: View,
        kinds: Mapping[str, str] | None = None,
        health: Mapping[str, tuple[str, str | None]] | None = None,
        definitions: list[ViewDefinition] | None = None,
    ) -> None:
        """``definitions``: every view in :func:`agentconsole.views.sidebar` order (kept
        when not given); ``counts`` by view key."""
        self.counts = dict(counts)
        self.current = current
        if kinds is not None:
            self.kinds = dict(kinds)
        if health is not None:
            self.health = {name: state for name, (state, _) in health.items()}
        if definitions is not None:
            self.every = list(definitions)
        self.definitions = [
            d
            for d in self.every
            if d.key not in LISTED_WHEN_FULL or self.counts.get(d.key) or view_of(d) == current
        ]
        if current.kind == "tag" and current.key not in {d.key for d in self.definitions}:
            self.definitions.append(views.tag_view(current.arg))  # a tag just emptied
        self.views = [view_of(d) for d in self.definitions]
        self.refresh()

    def shortcut(self, key: str) -> View | None:
        """The view whose ``key`` (its shortcut) is ``key``, if any."""
        for definition in self.definitions:
            if definition.shortcut == key:
                return view_of(definition)
        return None

    def step(self, delta: int) -> View:
        """The view ``delta`` places after the current one (wrapping)."""
        if not self.views:
            return self.current
        try:
            index = self.views.index(self.current)
        except ValueError:
            index = -1 if delta > 0 else 0
        return self.views[(index + delta) % len(self.views)]

    def render(self) -> Text:
        width = max(4, self.content_region.width or 24)
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        heading = self.get_component_rich_style("sidebar--heading")
        current = self.get_component_rich_style("sidebar--current")
        count_style = self.get_component_rich_style("sidebar--count")
        zero = self.get_component_rich_style("sidebar--zero")
        self._line_views = []
        section = ""
        for definition, view in zip(self.definitions, self.views, strict=True):
            group = _group(definition)
            if group != section:
                if section:
                    text.append("\n")
                    self._line_views.append(None)
                text.append(group.upper() + "\n", style=heading)
                self._line_views.append(None)
                section = group
            count = self.counts.get(view.key, 0)
            number = str(count)
            failing = view.kind == "channel" and self.health.get(view.arg) == "error"
            mark = "⚠ " if failing else ""
            label = view_label(view, self.kinds) if view.kind != "query" else definition.label
            if definition.shortcut:
                label = f"{one_line(label)} ({one_line(definition.shortcut)})"
            label = fit(one_line(label), width - len(number) - len(mark) - 1)
            line = Text(end="")
            line.append(label + " ")
            if mark:
                line.append(mark, style="bold red")
            line.append(number, style=count_style if count else zero)
            if view == self.current:
                line.stylize(current)
            text.append_text(line)
            text.append("\n")
            self._line_views.append(view)
        if self.current not in self.views:
            text.append("\n")
            text.append(fit(view_label(self.current, self.kinds), width), style=current)
        return text

    def on_click(self, event: Click) -> None:
        if 0 <= event.y < len(self._line_views):
            view = self._line_views[event.y]
            if view is not None:
                self.post_message(self.Selected(view))
