"""One message of the thread, styled by what it is."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...models import MessageRecord


class MessageBox(Static):
    """One message. Its CSS class says what it is: ``-in``, ``-out``, ``-note``,
    ``-automated``, ``-failed``, ``-compact`` (chat)."""

    DEFAULT_CSS = """
    MessageBox {
        padding: 0 1;
        margin: 0 0 1 0;
        border-left: tall $primary 50%;
    }
    MessageBox.-out {
        border-left: tall $success;
    }
    MessageBox.-failed {
        border-left: tall $error;
        background: $error 10%;
    }
    MessageBox.-note {
        border: round $warning;
        border-title-color: $warning;
        border-title-style: bold;
        background: $warning 15%;
    }
    MessageBox.-automated {
        border: round $secondary;
        border-title-color: $secondary;
        color: $text-muted;
    }
    MessageBox.-compact {
        margin: 0;
        border-left: none;
    }
    MessageBox.-compact.-note {
        border: round $warning;
        margin: 0 0 0 0;
    }
    """

    def __init__(self, message: MessageRecord, content: Text, *, compact: bool) -> None:
        classes = {"in": "-in", "out": "-out", "note": "-note"}.get(message.direction, "-in")
        if message.automated:
            classes += " -automated"
        if message.state == "failed":
            classes += " -failed"
        if compact:
            classes += " -compact"
        super().__init__(content, markup=False, classes=classes)
        self.message = message
        if message.direction == "note":
            self.border_title = "Internal note"
        elif message.automated:
            self.border_title = "Automated message"
