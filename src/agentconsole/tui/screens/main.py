"""The main screen: the sidebar of views, the work column (search, queue, the open
conversation and its composer) and the status line.

The screen owns what is shown — the current view, its index and counts, the channels'
health — and reloads it in workers (never awaiting the database in a key handler). The
widgets do the rest and post up what changed.
"""

from __future__ import annotations

import functools

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.dom import DOMNode
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer

from ...errors import AgentConsoleError
from ...models import View
from ..commands import PaletteEntry
from ..keys import bindings
from ..messages import FirstPaint, Notice, Refreshed, StoreChanged
from ..services import Services
from ..widgets.actions import ConversationActions
from ..widgets.composer import Composer
from ..widgets.conversation import ConversationPane
from ..widgets.desk import ConversationDesk
from ..widgets.queue import QueueView
from ..widgets.search_box import SearchBox
from ..widgets.sidebar import Sidebar, view_label
from ..widgets.status import ChannelNotice, StatusLine

#: How long the cursor rests on a conversation before it is loaded into the pane.
PREVIEW_DELAY = 0.15
#: Bindings the command palette does not offer (it is open already, or they only move).
NOT_IN_PALETTE = {"command_palette", "back", "next_view", "previous_view"}


class MainScreen(Screen[None], inherit_bindings=False):
    """Everything an agent works in. Attributes down: :meth:`reload`, :meth:`switch_view`,
    :meth:`step_view`, :meth:`start_search`, :meth:`go_back`; messages up: :class:`Refreshed`
    after each reload."""

    #: j/k move the queue's cursor while the thread is read. Screen's own tab/shift+tab
    #: (focus next/previous) are not inherited: here they step through the views.
    BINDINGS = bindings("", only=("cursor_down", "cursor_up"))
    HELP_TITLE = "Queue"

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.view = View("open")
        self.previous_view = self.view
        self.counts: dict[str, int] = {}
        self.channel_kinds: dict[str, str] = {}
        #: name → (health, detail) as the process running each channel reports it.
        self.channel_health: dict[str, tuple[str, str | None]] = {}
        #: How many reloads have completed (tests wait on it).
        self.refreshes = 0
        self._preview_timer: Timer | None = None
        self._first_paint_done = False

    def compose(self) -> ComposeResult:
        services = self.services
        with Horizontal(id="main-body"):
            yield Sidebar(id="sidebar")
            with ConversationActions(services, id="work-column"):
                yield SearchBox(id="search")
                yield ChannelNotice(id="channel-notice")
                yield QueueView(
                    services.store.conversation_rows,
                    clock=services.clock,
                    id="queue",
                    empty_text="No conversations in this view.",
                )
                yield ConversationDesk(services, id="desk")
        yield StatusLine(id="status-line")
        yield Footer()

    @property
    def actions(self) -> ConversationActions:
        return self.query_one(ConversationActions)

    @property
    def queue(self) -> QueueView:
        return self.query_one(QueueView)

    @property
    def desk(self) -> ConversationDesk:
        return self.query_one(ConversationDesk)

    @property
    def pane(self) -> ConversationPane:
        return self.query_one(ConversationPane)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    @property
    def search(self) -> SearchBox:
        return self.query_one(SearchBox)

    def on_mount(self) -> None:
        self.queue.focus()
        self.reload(reset=True)

    # -- loading ----------------------------------------------------------------------------

    def reload(self, *, reset: bool = False) -> None:
        """Reload counts, the view's index and the open conversation (in a worker)."""
        self.run_worker(self._reload(reset), group="reload", exclusive=True, exit_on_error=False)

    async def _reload(self, reset: bool) -> None:
        try:
            await self._load(reset)
        except AgentConsoleError as error:
            self.post_message(Notice(str(error), "error"))
        # Not on cancellation (a newer reload replaced this one): only a finished reload counts.
        self.refreshes += 1
        self.post_message(Refreshed())

    async def _load(self, reset: bool) -> None:
        store, view = self.services.store, self.view
        if view.kind == "search" and not view.arg.strip():
            ids: list[int] = []
        else:
            if not self.queue.ids and view.kind != "search":
                # First paint: the top of the queue with its rows, before the whole index and
                # the counts are read.
                first = await store.conversation_ids(view, limit=self.queue.window)
                if view != self.view:
                    return
                self.queue.prime(first, await store.conversation_rows(first))
            ids = await store.conversation_ids(view)
        if view != self.view:
            return
        shown = self.pane.conversation_id
        self.queue.set_ids(ids, reset=reset)
        self._show_status()
        if not self._first_paint_done:
            self._first_paint_done = True
            self.post_message(FirstPaint())
        counts = await store.view_counts()
        channels = await store.channels(with_counts=False)
        self.channel_kinds = {c.name: c.kind for c in channels}
        self.channel_health = {c.name: (c.health, c.health_detail) for c in channels}
        if not channels and not self.services.config.channels:
            self.queue.empty_text = (
                "No channels yet. Write a config file with every key explained:\n"
                f"  agentconsole config example > {self.services.config.file}\n"
                "and switch on the channels you edit, or try the live demo:\n"
                "  agentconsole demo"
            )
            self.queue.refresh()
        self.counts = counts
        self.sidebar.update_views(counts, view, self.channel_kinds, self.channel_health)
        self._show_status()
        current = self.queue.current_id
        if shown is not None and (shown == current or self.composer.is_open):
            await self.desk.load(shown)
        elif current is None:
            await self.pane.clear("No conversation selected.")

    def _show_status(self) -> None:
        position = (self.queue.cursor, len(self.queue.ids))
        self.query_one(StatusLine).show(
            self.services.config.agent, self.view, self.channel_kinds, position, self.channel_health
        )
        self.query_one(ChannelNotice).show(self.view, self.channel_health)

    def _load_detail(self, conversation_id: int) -> None:
        self.run_worker(
            self.desk.load(conversation_id), group="detail", exclusive=True, exit_on_error=False
        )

    @on(StoreChanged)
    def _store_changed(self, event: StoreChanged) -> None:
        self.reload()

    @on(Composer.Toggled)
    def _composer_toggled(self, event: Composer.Toggled) -> None:
        self.set_class(event.is_open, "-composing")

    # -- the queue --------------------------------------------------------------------------

    @on(QueueView.CursorMoved)
    def _cursor_moved(self, event: QueueView.CursorMoved) -> None:
        self._show_status()
        if self._preview_timer is not None:
            self._preview_timer.stop()
        if self.composer.is_open:
            return
        conversation_id = event.conversation_id
        if conversation_id is None:
            self.run_worker(self.pane.clear(), group="detail", exclusive=True, exit_on_error=False)
            return
        self._preview_timer = self.set_timer(PREVIEW_DELAY, lambda: self._preview(conversation_id))

    def _preview(self, conversation_id: int) -> None:
        if self.queue.current_id == conversation_id:
            self._load_detail(conversation_id)

    @on(QueueView.Opened)
    def _opened(self, event: QueueView.Opened) -> None:
        self.add_class("-reading")
        if self.pane.conversation_id != event.conversation_id:
            self._load_detail(event.conversation_id)
        self.pane.thread.focus()

    def action_cursor_down(self) -> None:
        self.queue.move_cursor(1)

    def action_cursor_up(self) -> None:
        self.queue.move_cursor(-1)

    # -- views and search ---------------------------------------------------------------------

    @on(Sidebar.Selected)
    def _sidebar_selected(self, event: Sidebar.Selected) -> None:
        self.switch_view(event.view)

    def switch_view(self, view: View) -> None:
        if view.kind != "search":
            self._hide_search()
        self.view = view
        self.sidebar.update_views(self.counts, view, self.channel_kinds, self.channel_health)
        self._show_status()
        self.reload(reset=True)

    def step_view(self, delta: int) -> None:
        base = self.previous_view if self.view.kind == "search" else self.view
        self.sidebar.current = base
        self.switch_view(self.sidebar.step(delta))

    def start_search(self) -> None:
        if self.view.kind != "search":
            self.previous_view = self.view
        self.search.open()

    def _hide_search(self) -> None:
        had_focus = self.search.has_focus
        self.search.close()
        if had_focus:
            self.queue.focus()

    @on(SearchBox.Query)
    def _search_query(self, event: SearchBox.Query) -> None:
        if event.text.strip():
            self.view = View("search", event.text)
            self.reload(reset=True)
        elif self.view.kind == "search":
            self.switch_view(self.previous_view)
            self.start_search()

    @on(SearchBox.Done)
    def _search_done(self) -> None:
        self.queue.focus()

    def go_back(self) -> None:
        """Escape: leave the search, the reading mode, or the search view, in that order."""
        if self.search.has_focus or self.view.kind == "search":
            self._hide_search()
            if self.view.kind == "search":
                self.switch_view(self.previous_view)
            return
        if self.has_class("-reading") or not self.queue.has_focus:
            self.remove_class("-reading")
            self.queue.focus()

    def keep_draft(self) -> None:
        """Put what the composer holds into the draft buffer (on quit: the app flushes it)."""
        self.desk.keep_draft()

    # -- the command palette ------------------------------------------------------------------

    def palette_commands(self) -> list[PaletteEntry]:
        """Every described binding of the work column and the app, then "go to view X"."""
        entries: list[PaletteEntry] = []
        app = self.app
        nodes: list[tuple[DOMNode, str]] = [(self.actions, "conversation"), (app, "")]
        for node, hint in nodes:
            for binding in Binding.make_bindings(type(node).BINDINGS):
                if binding.description and binding.id not in NOT_IN_PALETTE:
                    action = functools.partial(app.run_action, binding.action, node)
                    entries.append(PaletteEntry(binding.description, hint, action))
        for view in self.sidebar.views:
            label = view_label(view, self.channel_kinds)
            go = functools.partial(self.switch_view, view)
            entries.append(PaletteEntry(f"Go to view: {label}", "view", go))
        return entries
