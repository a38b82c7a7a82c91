"""The queue: a virtual list of conversations (the Toolong technique).

Only the ordered list of ids lives in memory. Rows are fetched from the store in windows of
:attr:`QueueView.window` around what is on screen, by an asyncio task, and kept in a bounded
cache; a row not loaded yet renders as a placeholder. Moving the cursor never waits for the
database: it repaints two lines and, at most, schedules a fetch. Rows and rendered lines
are kept in Textual's :class:`~textual.cache.LRUCache`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from ...errors import AgentConsoleError
from ...models import ConversationRow
from ...sanitize import one_line
from ..deferred import deferred
from ..formatting import queue_header, queue_row
from ..keys import bindings
from .row_cache import RowCache, RowFetcher, RowWindows


class QueueView(ScrollView, can_focus=True, inherit_bindings=False):
    """Conversations of the current view, one per line, in the order of :meth:`set_ids`.

    Attributes down: the owner gives the ids (:meth:`set_ids`) and a row fetcher.
    Messages up: :class:`CursorMoved` when the highlighted conversation changes,
    :class:`Opened` when the agent opens it.
    """

    BINDINGS = bindings("queue")
    HELP_TITLE = "Queue"

    COMPONENT_CLASSES = {
        "queue-view--cursor",
        "queue-view--cursor-blurred",
        "queue-view--placeholder",
        "queue-view--empty",
        "queue-view--marked",
    }

    DEFAULT_CSS = """
    QueueView {
        background: $surface;
        overflow-x: hidden;
        overflow-y: scroll;  /* always: the header line above keeps its columns */
        scrollbar-size-vertical: 1;
    }
    QueueView > .queue-view--cursor {
        background: $accent 45%;
    }
    QueueView > .queue-view--cursor-blurred {
        background: $accent 20%;
    }
    QueueView > .queue-view--placeholder {
        color: $text-muted;
    }
    QueueView > .queue-view--marked {
        background: $success 30%;
        text-style: bold;
    }
    QueueView > .queue-view--empty {
        color: $text-muted;
        text-style: italic;
    }
    """

    cursor: reactive[int] = reactive(0, always_update=False, repaint=False, init=False)
    #: Seconds between repaints of the visible rows, so waiting times and SLA countdowns
    #: ("due 42m") run on without a key press; rendered lines are keyed to the same step.
    TICK = 30.0

    class CursorMoved(Message):
        """The highlighted conversation changed (``None``: the queue is empty)."""

        def __init__(self, conversation_id: int | None) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    class MarksChanged(Message):
        """The set of marked conversations changed (bulk actions apply to them)."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    class Opened(Message):
        """The agent opened the highlighted conversation."""

        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def __init__(
        self,
        fetch_rows: RowFetcher,
        *,
        clock: Callable[[], float] = time.time,
        window: int = 100,
        cache_size: int = 5000,
        empty_text: str = "Nothing here.",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock = clock
        self.window = window
        self.empty_text = empty_text
        self._ids: list[int] = []
        self._rows = RowCache(cache_size)
        self._windows = RowWindows(fetch_rows, window, self._rows)
        self._fetch_scheduled = False
        #: A line's text as a strip, unstyled (key: row, id, width, marked, tick) ...
        self._texts: LRUCache[tuple[object, ...], Strip] = LRUCache(400)
        #: ... and styled as it shows (key: that key and the line's style).
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(400)
        self._styles: _LineStyles | None = None
        self._current_frame: _Frame | None = None
        self._last_reported: int | None = -1
        #: Marked conversations (``space``, ``*``): what bulk actions apply to.
        self._marked: set[int] = set()
        #: The next :meth:`set_ids` keeps the cursor's position (see :meth:`hold_position`).
        self._hold_position = False
        #: A search's hits: conversation id → the snippet, its matches highlighted.
        self._snippets: dict[int, Text] = {}

    # -- the index --------------------------------------------------------------------------

    @property
    def ids(self) -> Sequence[int]:
        return self._ids

    @property
    def current_id(self) -> int | None:
        if 0 <= self.cursor < len(self._ids):
            return self._ids[self.cursor]
        return None

    def set_ids(
        self,
        ids: list[int],
        *,
        keep: int | None = None,
        reset: bool = False,
        keep_position: bool = False,
    ) -> None:
        """Replace the index. The cursor stays on ``keep`` (default: the current conversation)
        when it is still listed, otherwise on the same position; ``keep_position`` keeps the
        position whatever moved (after the agent's own action: the next piece of work is
        under the cursor); ``reset`` moves it to the top. Cached rows are kept for display
        but fetched again."""
        keep = self.current_id if keep is None else keep
        if keep_position or self._hold_position:
            keep = None
        self._hold_position = False
        position = self.cursor
        shown = self._visible()
        self._ids = ids
        if self._marked:
            listed = set(ids)
            if not self._marked <= listed:
                self._marked &= listed  # a marked conversation that left the view
                self.post_message(self.MarksChanged(len(self._marked)))
        self.virtual_size = Size(self.size.width, len(ids))
        if reset:
            new_cursor = 0
        else:
            try:
                new_cursor = ids.index(keep) if keep is not None else position
            except ValueError:
                new_cursor = position
        new_cursor = max(0, min(new_cursor, len(ids) - 1))
        self.set_reactive(QueueView.cursor, new_cursor)
        if reset:
            self.scroll_to(y=0, animate=False, force=True)
        self._scroll_cursor_into_view()
        self.invalidate()
        if self._visible() != shown:
            self.refresh()
        self._report_cursor()

    @property
    def marked(self) -> list[int]:
        """The marked conversations still listed, in queue order (all of them when the
        whole view is marked)."""
        if not self._marked:
            return []
        return [i for i in self._ids if i in self._marked]

    def toggle_mark(self) -> None:
        """Mark or unmark the cursor's conversation and move down."""
        current = self.current_id
        if current is None:
            return
        self._marked.symmetric_difference_update((current,))
        self.refresh_line(self.cursor)
        self._marks_changed()
        self.move_cursor(1)

    def mark_all(self) -> None:
        """Mark every conversation of the view."""
        self._marked = set(self._ids)
        self._marks_changed()

    def clear_marks(self) -> bool:
        """Unmark everything; False when nothing was marked."""
        if not self._marked:
            return False
        self._marked = set()
        self._marks_changed()
        return True

    def _marks_changed(self) -> None:
        self.refresh()
        self.post_message(self.MarksChanged(len(self._marked)))

    def hold_position(self) -> None:
        """The next index keeps the cursor at its position, whichever reload brings it (the
        agent acts on the row under the cursor: the next piece of work comes under it)."""
        self._hold_position = True

    def set_snippets(self, snippets: dict[int, Text]) -> None:
        """Show these snippets instead of the rows' previews (a search's hits; empty: none)."""
        if not snippets and not self._snippets:
            return  # none before, none now (every reload of a view that is not a search)
        self._snippets = snippets
        self._texts.clear()  # a line's text shows its snippet, which its key does not name
        self._strips.clear()
        self.refresh()

    def snippet(self, conversation_id: int) -> Text | None:
        return self._snippets.get(conversation_id)

    def prime(self, ids: list[int], rows: dict[int, ConversationRow]) -> None:
        """Show ``ids`` with their rows at once (the top of a view, before its whole index
        is read): the first screen never waits for a second round trip."""
        self.set_ids(ids, reset=True)
        self._rows.put(list(rows), rows)

    def invalidate(self) -> None:
        """Mark every cached row stale: they still show, and are fetched again when seen;
        those on screen at once (only the lines whose row changed repaint)."""
        self._rows.invalidate()
        height = self.scrollable_content_region.height or self.size.height
        top = round(self.scroll_y)
        for index in range(top, min(top + height, len(self._ids)), self.window):
            self._want(index)
        if height and top + height - 1 < len(self._ids):
            self._want(top + height - 1)

    def _visible(self) -> tuple[int, int, list[int]]:
        """(cursor, top, ids on screen): when none of them changes, nothing needs a repaint."""
        height = self.scrollable_content_region.height or self.size.height
        top = round(self.scroll_y)
        return self.cursor, top, self._ids[top : top + height]

    def row(self, conversation_id: int) -> ConversationRow | None:
        return self._rows.get(conversation_id)

    # -- cursor -----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)
        self.refresh_line(new)
        self._scroll_cursor_into_view()
        self._prefetch(new - old)
        self._report_cursor()

    def _scroll_cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height or self.size.height
        if height <= 0:
            return
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, force=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, force=True)

    def _report_cursor(self) -> None:
        current = self.current_id
        if current != self._last_reported:
            self._last_reported = current
            self.post_message(self.CursorMoved(current))

    def move_cursor(self, delta: int) -> None:
        if self._ids:
            self.cursor = max(0, min(self.cursor + delta, len(self._ids) - 1))

    def action_cursor_down(self) -> None:
        self.move_cursor(1)

    def action_cursor_up(self) -> None:
        self.move_cursor(-1)

    def action_page_down(self) -> None:
        self.move_cursor(max(1, self.scrollable_content_region.height - 1))

    def action_page_up(self) -> None:
        self.move_cursor(-max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.move_cursor(-len(self._ids))

    def action_last(self) -> None:
        self.move_cursor(len(self._ids))

    def action_mark(self) -> None:
        self.toggle_mark()

    def action_mark_all(self) -> None:
        self.mark_all()

    def action_open_conversation(self) -> None:
        current = self.current_id
        if current is not None:
            self.post_message(self.Opened(current))

    def on_click(self, event: object) -> None:
        offset = getattr(event, "y", None)
        if offset is None:
            return
        index = round(self.scroll_y) + int(offset)
        if 0 <= index < len(self._ids):
            self.cursor = index

    def on_mount(self) -> None:
        self.set_interval(self.TICK, self.refresh)

    @on(events.Focus)
    @on(events.Blur)
    def _focus_changed(self) -> None:
        self.refresh()  # the cursor line changes colour (has_focus is part of the line key)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._ids))
        self._scroll_cursor_into_view()

    # -- rendering --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None  # the theme or the classes changed: the line styles are redone

    def _line_styles(self) -> _LineStyles:
        styles = self._styles
        if styles is None:
            styles = self._styles = _LineStyles(
                self.get_component_rich_style("queue-view--placeholder"),
                self.get_component_rich_style("queue-view--marked"),
                self.get_component_rich_style("queue-view--cursor"),
                self.get_component_rich_style("queue-view--cursor-blurred"),
                self.get_component_rich_style("queue-view--empty"),
            )
        return styles

    def _frame(self) -> _Frame:
        """What every line of one repaint shares, worked out once for all of them."""
        now = self._clock()
        return _Frame(
            self.scrollable_content_region.width or self.size.width,
            round(self.scroll_y),
            now,
            int(now // self.TICK),
            self.rich_style,
            self.has_focus,
            self._line_styles(),
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        self._current_frame = self._frame()
        try:
            return super().render_lines(crop)
        finally:
            self._current_frame = None

    def render_line(self, y: int) -> Strip:
        frame = self._current_frame or self._frame()
        width, base = frame.width, frame.base
        index = frame.top + y
        if not self._ids:
            lines = self.empty_text.split("\n")
            if y < len(lines):
                text = Text(" " + lines[y], end="")
                return self._styled(self._to_strip(text, width), base + frame.styles.empty)
            return Strip.blank(width, base)
        if index >= len(self._ids):
            return Strip.blank(width, base)
        conversation_id = self._ids[index]
        row = self._rows.get(conversation_id)
        if self._rows.needs_fetch(conversation_id):
            self._want(index)
        marked = conversation_id in self._marked
        style = base
        if row is None:
            style += frame.styles.placeholder
        if marked:
            style += frame.styles.marked
        if index == self.cursor:
            style += frame.styles.cursor if frame.focused else frame.styles.cursor_blurred
        # The line's text does not depend on the cursor: moving it restyles two cached
        # lines instead of laying out their text again.
        key = (row, conversation_id, width, marked, frame.tick)
        styled_key = (key, style)
        strip = self._strips.get(styled_key)
        if strip is None:
            plain = self._texts.get(key)
            if plain is None:
                plain = self._to_strip(self._line_text(row, conversation_id, frame, marked), width)
                self._texts.set(key, plain)
            strip = self._styled(plain, style)
            self._strips.set(styled_key, strip)
        return strip

    def _line_text(
        self, row: ConversationRow | None, conversation_id: int, frame: _Frame, marked: bool
    ) -> Text:
        if row is None:
            return Text(f"   #{conversation_id} …", end="")
        text = queue_row(row, frame.now, frame.width, self._snippets.get(conversation_id))
        if marked:
            # the column after the priority mark, so the priority still shows
            text = Text.assemble(text[:1], ("✔", "bold"), text[2:], end="")
        return text

    def _to_strip(self, text: Text, width: int) -> Strip:
        segments = list(text.render(self.app.console))
        return Strip(segments, text.cell_len).crop_extend(0, width, None)

    @staticmethod
    def _styled(strip: Strip, style: Style) -> Strip:
        return Strip(Segment.apply_style(strip, style), strip.cell_length)

    # -- lazy loading -----------------------------------------------------------------------

    def _want(self, index: int) -> None:
        self._windows.want(index)
        if not self._fetch_scheduled:
            self._fetch_scheduled = True
            self.call_later(self._start_fetches)

    def _prefetch(self, direction: int) -> None:
        """Fetch ahead in the direction the cursor goes — the next page and a whole window
        past the screen — so a held key or page down shows rows, not placeholders and a
        second repaint, even while a reload keeps the store busy for a moment."""
        height = self.scrollable_content_region.height or self.size.height
        top = round(self.scroll_y)
        ahead = max(2 * height, self.window)
        for distance in (height, ahead):
            index = top + height - 1 + distance if direction > 0 else top - distance
            if 0 <= index < len(self._ids) and self._rows.needs_fetch(self._ids[index]):
                self._want(index)

    def _start_fetches(self) -> None:
        self._fetch_scheduled = False
        for start in self._windows.take_wanted():
            self.run_worker(
                deferred(self._fetch_window, start), group="queue-rows", exit_on_error=False
            )

    async def _fetch_window(self, start: int) -> None:
        try:
            fetched = await self._windows.fetch(start, self._ids[start : start + self.window])
        except AgentConsoleError as error:
            self.notify(one_line(str(error)), severity="error", markup=False)
            return
        # Only the lines whose row changed repaint (after a reload most rows are the same).
        top = round(self.scroll_y)
        for index in range(max(start, top), min(start + self.window, top + self.size.height)):
            if index < len(self._ids) and self._ids[index] in fetched.changed:
                self.refresh_line(index)


@dataclass(frozen=True, slots=True)
class _LineStyles:
    """The component styles of the queue's lines (looked up once per theme, not per line)."""

    placeholder: Style
    marked: Style
    cursor: Style
    cursor_blurred: Style
    empty: Style


@dataclass(frozen=True, slots=True)
class _Frame:
    """What the lines of one repaint share."""

    width: int
    top: int
    now: float
    tick: int
    base: Style
    focused: bool
    styles: _LineStyles


class QueueHeader(Static):
    """The line above the queue naming its columns (laid out as the rows are)."""

    DEFAULT_CSS = """
    QueueHeader {
        height: 1;
        padding: 0 0 0 2;
        background: $panel;
        color: $text-muted;
        text-style: bold;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id)

    def on_resize(self) -> None:
        # The queue's scrollbar takes one column: the header's columns follow the rows'.
        self.update(queue_header(max(0, self.outer_size.width - 1)))

    def on_mount(self) -> None:
        self.on_resize()
