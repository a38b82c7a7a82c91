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

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from ...errors import AgentConsoleError
from ...models import ConversationRow
from ...sanitize import one_line
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
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(400)
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
        self._ids = ids
        if self._marked:
            listed = set(ids)
            if not self._marked <= listed:
                self._marked &= listed  # a marked conversation that left the view
                self.post_message(self.MarksChanged(len(self._marked)))
        self.invalidate()
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
        self._strips.clear()
        self.refresh()
        self.post_message(self.MarksChanged(len(self._marked)))

    def hold_position(self) -> None:
        """The next index keeps the cursor at its position, whichever reload brings it (the
        agent acts on the row under the cursor: the next piece of work comes under it)."""
        self._hold_position = True

    def set_snippets(self, snippets: dict[int, Text]) -> None:
        """Show these snippets instead of the rows' previews (a search's hits; empty: none)."""
        self._snippets = snippets
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
        """Mark every cached row stale: they still show, and are fetched again when seen."""
        self._rows.invalidate()
        self._strips.clear()
        self.refresh()

    def row(self, conversation_id: int) -> ConversationRow | None:
        return self._rows.get(conversation_id)

    # -- cursor -----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)
        self.refresh_line(new)
        self._scroll_cursor_into_view()
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

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        index = round(self.scroll_y) + y
        base = self.rich_style
        if not self._ids:
            lines = self.empty_text.split("\n")
            if y < len(lines):
                text = Text(" " + lines[y], end="")
                style = self.get_component_rich_style("queue-view--empty")
                return self._to_strip(text, width, base + style)
            return Strip.blank(width, base)
        if index >= len(self._ids):
            return Strip.blank(width, base)
        conversation_id = self._ids[index]
        row = self._rows.get(conversation_id)
        if self._rows.needs_fetch(conversation_id):
            self._want(index)
        selected = index == self.cursor
        marked = conversation_id in self._marked
        now = self._clock()
        snippet = self._snippets.get(conversation_id)
        key = (row, conversation_id, width, selected, marked, self.has_focus, int(now // self.TICK))
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        if row is None:
            text = Text(f"   #{conversation_id} …", end="")
            style = base + self.get_component_rich_style("queue-view--placeholder")
        else:
            text = queue_row(row, now, width, snippet)
            style = base
        if marked:
            # the column after the priority mark, so the priority still shows
            text = Text.assemble(text[:1], ("✔", "bold"), text[2:], end="")
            style += self.get_component_rich_style("queue-view--marked")
        if selected:
            style += self.get_component_rich_style(
                "queue-view--cursor" if self.has_focus else "queue-view--cursor-blurred"
            )
        strip = self._to_strip(text, width, style)
        self._strips.set(key, strip)
        return strip

    def _to_strip(self, text: Text, width: int, style: Style) -> Strip:
        segments = list(text.render(self.app.console))
        strip = Strip(segments, text.cell_len).crop_extend(0, width, None)
        return Strip(Segment.apply_style(strip, style), strip.cell_length)

    # -- lazy loading -----------------------------------------------------------------------

    def _want(self, index: int) -> None:
        self._windows.want(index)
        if not self._fetch_scheduled:
            self._fetch_scheduled = True
            self.call_later(self._start_fetches)

    def _start_fetches(self) -> None:
        self._fetch_scheduled = False
        for start in self._windows.take_wanted():
            self.run_worker(self._fetch_window(start), group="queue-rows", exit_on_error=False)

    async def _fetch_window(self, start: int) -> None:
        try:
            fresh = await self._windows.fetch(start, self._ids[start : start + self.window])
        except AgentConsoleError as error:
            self.notify(one_line(str(error)), severity="error", markup=False)
            return
        if not fresh:
            self._strips.clear()
        top = round(self.scroll_y)
        if start < top + self.size.height and start + self.window > top:
            self.refresh()


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
