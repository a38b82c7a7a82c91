"""The saved-reply picker's list: one line per reply, only the visible lines rendered.

A line-API :class:`~textual.scroll_view.ScrollView` (the queue's technique): its height is
the number of replies, known without measuring any of them, and a repaint renders just the
lines on screen — 1,000 matches cost what six do. (An ``OptionList`` measured and wrapped
every option's prompt each time the picker opened and again on every keystroke.)
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...replies import SavedReply
from ..safe_text import safe_text


def label(reply: SavedReply) -> Text:
    """``Title  keyword, keyword`` (plain text: titles come from files anyone may edit)."""
    text = safe_text(reply.title, multiline=False)
    if reply.keywords:
        text.append_text(safe_text("  " + ", ".join(reply.keywords), "dim", multiline=False))
    return text


class ReplyList(ScrollView, can_focus=False):
    """Attributes down: :meth:`show` the replies (the first highlighted). Messages up:
    :class:`Highlighted` when the highlighted reply changes, :class:`Chosen` on a click.
    It never takes focus: the picker's filter keeps it and moves the highlight."""

    COMPONENT_CLASSES = {"reply-list--highlight"}

    DEFAULT_CSS = """
    ReplyList {
        height: auto;
        max-height: 6;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    ReplyList > .reply-list--highlight {
        background: $accent 45%;
        text-style: bold;
    }
    """

    class Highlighted(Message):
        """The highlighted reply changed (``None``: nothing matches)."""

    class Chosen(Message):
        """A reply was clicked: it is highlighted and chosen."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.replies: Sequence[SavedReply] = ()
        #: The index of the highlighted reply (``None`` when the list is empty).
        self.highlighted: int | None = None
        #: A reply's line as a strip, unstyled (key: the reply and the width).
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(200)

    def show(self, replies: Sequence[SavedReply]) -> None:
        """List ``replies``, the first highlighted and scrolled to."""
        most = self._most_lines()
        resized = min(len(self.replies), most) != min(len(replies), most)
        self.replies = replies
        self.highlighted = 0 if replies else None
        self.virtual_size = Size(self.size.width, len(replies))
        self.scroll_to(y=0, animate=False, force=True)
        self.refresh(layout=resized)  # a new height only when fewer lines than fit show
        self.post_message(self.Highlighted())

    def _most_lines(self) -> int:
        """The lines it shows at most (its ``max-height``; more scroll)."""
        limit = self.styles.max_height
        if limit is not None and limit.is_cells:
            return int(limit.value)
        return len(self.replies) + 1  # unknown: any change of length may change the height

    @property
    def current(self) -> SavedReply | None:
        index = self.highlighted
        return self.replies[index] if index is not None else None

    def move(self, delta: int) -> None:
        """Move the highlight by ``delta`` lines, kept in the list and in view."""
        if self.highlighted is None:
            return
        old = self.highlighted
        new = max(0, min(old + delta, len(self.replies) - 1))
        if new == old:
            return
        self.highlighted = new
        self.refresh_line(old)
        self.refresh_line(new)
        height = self.scrollable_content_region.height or self.size.height
        top = round(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False, force=True)
        elif height > 0 and new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, force=True)
        self.post_message(self.Highlighted())

    def on_click(self, event: events.Click) -> None:
        index = round(self.scroll_y) + event.y
        if 0 <= index < len(self.replies):
            self.move(index - (self.highlighted or 0))
            self.post_message(self.Chosen())

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.replies))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.replies)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        base = self.rich_style
        index = round(self.scroll_y) + y
        if index >= len(self.replies):
            return Strip.blank(width, base)
        reply = self.replies[index]
        key = (reply.name, reply.title, reply.keywords, width)
        strip = self._lines.get(key)
        if strip is None:
            text = label(reply)
            text.truncate(width, overflow="ellipsis")
            segments = list(text.render(self.app.console))
            strip = Strip(segments, text.cell_len).crop_extend(0, width, None)
            self._lines.set(key, strip)
        style: Style = base
        if index == self.highlighted:
            style += self.get_component_rich_style("reply-list--highlight")
        return Strip(Segment.apply_style(strip, style), strip.cell_length)
