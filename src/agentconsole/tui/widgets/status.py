"""What the screen says about where the agent is, and what is wrong with a channel.

:class:`StatusLine` is one row at the bottom: agent, view, position, and which channels are
failing. :class:`ChannelNotice` sits above the queue of a failing channel's view and gives
the whole reason, wrapped over as many lines as it needs (a config error ends with "did you
mean …", which a status line would cut).
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import Static

from ...models import View
from ...sanitize import one_line
from ..safe_text import safe_text
from .sidebar import view_label

#: Channel name → (health, detail) as the process running each channel reports it.
Health = Mapping[str, tuple[str, str | None]]


def failing_channels(health: Health) -> dict[str, str]:
    """Channel name → the reason it is failing, for every channel in error."""
    return {
        name: detail or "error (no reason given)"
        for name, (state, detail) in health.items()
        if state == "error"
    }


class StatusLine(Static):
    """One row. Attributes down: :meth:`show`."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $text-muted;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id)
        self._shown: Text | None = None

    def show(
        self,
        agent: str,
        view: View,
        kinds: Mapping[str, str],
        position: tuple[int, int],
        health: Health,
        *,
        marked: int = 0,
        undo: str | None = None,
        waiting: tuple[int, str] | None = None,
    ) -> None:
        """``position`` is (cursor index, number of conversations in the view); ``marked``
        how many are marked, ``undo`` what the undo key puts back ("u undoes close of 5");
        ``waiting`` (how many conversations the hotlist holds, its key) says how many wait
        for the agent."""
        cursor, count = position
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(" ")
        text.append_text(safe_text(agent, "bold", multiline=False))
        text.append("  ·  ")
        text.append(view_label(view, kinds), style="bold")
        text.append(f"  ·  {count} conversation{'s' if count != 1 else ''}")
        if count:
            text.append(f"  ·  {cursor + 1}/{count}", style="dim")
        if marked:
            text.append(f"  ·  {marked} marked", style="bold yellow")
        if undo:
            text.append(f"  ·  {undo}", style="bold italic")
        if waiting is not None and waiting[0]:
            count, key = waiting
            text.append(
                f"  ·  ⚑ {count} wait{'s' if count == 1 else ''} for you ({key})", style="bold"
            )
        failing = failing_channels(health)
        if failing and not (view.kind == "channel" and view.arg in failing):
            names = ", ".join(one_line(name) for name in sorted(failing))
            text.append(f"  ·  ⚠ channel error: {names} (its view says why)", style="bold red")
        if text != self._shown:  # shown on every cursor move: repaint only what changed
            self._shown = text
            self.update(text, layout=False)  # one row whatever it says: no layout


class ChannelNotice(Static):
    """The whole reason a channel fails, shown in that channel's view (hidden otherwise).
    Attributes down: :meth:`show`."""

    DEFAULT_CSS = """
    ChannelNotice {
        display: none;
        height: auto;
        padding: 0 1;
        background: $error 20%;
        border-left: thick $error;
    }
    ChannelNotice.-shown {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id)

    def show(self, view: View, health: Health) -> None:
        reason = failing_channels(health).get(view.arg) if view.kind == "channel" else None
        if reason is None:
            if not self.has_class("-shown"):
                return  # hidden already (the usual case, on every cursor move): no layout
            self.update("")
            self.remove_class("-shown")
            return
        text = Text(end="")
        text.append("⚠ ", style="bold red")
        text.append_text(safe_text(view.arg, "bold", multiline=False))
        text.append(" is not working: ", style="bold")
        text.append_text(safe_text(reason))
        self.update(text)
        self.add_class("-shown")
