"""The search box: search-as-you-type over the messages, with the query language's
error (message and caret) shown under it while the query does not parse."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

#: How long typing rests before the query runs.
TYPING_DELAY = 0.25


class SearchBox(Input):
    """Hidden until :meth:`open`. Messages up: :class:`Query` once typing rests (or on
    enter), :class:`Done` on enter (the agent goes back to the results)."""

    DEFAULT_CSS = """
    SearchBox {
        display: none;
        height: 3;
        border: tall $accent;
    }
    SearchBox.-shown {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="Search: words, from:, tag:, #338 (escape leaves)", id=id)
        self._timer: Timer | None = None

    class Query(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Done(Message):
        """Enter: the results are what the agent wanted."""

    @property
    def is_open(self) -> bool:
        return self.has_class("-shown")

    def open(self) -> None:
        self.add_class("-shown")
        self.focus()

    def close(self) -> None:
        """Hide and forget what was typed (no :class:`Query` follows)."""
        self._stop_timer()
        self.remove_class("-shown")
        with self.prevent(Input.Changed):
            self.value = ""

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._stop_timer()
        text = event.value
        self._timer = self.set_timer(TYPING_DELAY, lambda: self.post_message(self.Query(text)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._stop_timer()
        if event.value.strip():
            self.post_message(self.Query(event.value))
        self.post_message(self.Done())


class SearchError(Static):
    """Under the search box: why the query does not parse, the caret under the offending
    token (``agentconsole.query.format_error``); hidden while it does. Attributes down:
    :meth:`show`."""

    DEFAULT_CSS = """
    SearchError {
        display: none;
        height: auto;
        padding: 0 1;
        color: $error;
        background: $error 10%;
    }
    SearchError.-shown {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id)

    def show(self, message: str | None) -> None:
        """``message``: the formatted error (its control characters already shown as ?),
        or ``None`` to hide."""
        self.update(Text(message or "", end="", no_wrap=True, overflow="crop"))
        self.set_class(message is not None, "-shown")
