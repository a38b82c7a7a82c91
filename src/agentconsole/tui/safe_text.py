"""Outside text as Rich ``Text`` for the screen: cleaned by :mod:`agentconsole.sanitize`,
then wrapped in a ``Text``, which Rich and Textual never parse as markup — ``[bold]`` or
``[@click=app.quit]`` from a customer shows literally.

Lives with the TUI so the headless modules (CLI, store, sync) that clean text never load
Rich.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from ..sanitize import clean

__all__ = ["safe_text"]


def safe_text(text: str, style: str | Style = "", *, multiline: bool = True) -> Text:
    """A Rich ``Text`` of outside data: literal, never markup, never a control sequence.
    Without ``multiline`` line breaks become spaces, so a label stays one row."""
    return Text(clean(text, multiline=multiline), style=style, end="")
