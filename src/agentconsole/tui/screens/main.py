"""The main screen: the sidebar of views, the work column (search, queue, the open
conversation and its composer) and the status line.

The screen owns what is shown — the current view, its index and counts, the channels'
health — and reloads it in workers (never awaiting the database in a key handler). The
widgets do the rest and post up what changed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Sequence

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.dom import DOMNode
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, TextArea

from ... import hotlist, views
from ...errors import AgentConsoleError
from ...models import View
from ...query import QueryError, format_error, parse, parse_field, to_query
from ...sanitize import one_line
from ...views import ViewDefinition
from ..commands import PaletteEntry
from ..deferred import deferred
from ..highlight import highlight, search_words
from ..keys import bindings, keys_of
from ..messages import (
    FirstPaint,
    Notice,
    OpenConversation,
    Refreshed,
    ReplyQueued,
    ReplyUnsent,
    SaveViewRequested,
    StoreChanged,
    UndoOffered,
)
from ..screens.prompts import ask_choice, ask_line
from ..services import Services
from ..widgets.actions import ConversationActions
from ..widgets.composer import Composer
from ..widgets.conversation import ConversationPane
from ..widgets.desk import ConversationDesk
from ..widgets.footer import KeyFooter
from ..widgets.queue import QueueHeader, QueueView
from ..widgets.reply_picker import ReplyPicker
from ..widgets.search_box import SearchBox, SearchError
from ..widgets.sidebar import Sidebar, view_label, view_of
from ..widgets.status import ChannelNotice, StatusLine

#: How long the cursor rests on a conversation before it is loaded into the pane.
PREVIEW_DELAY = 0.15
#: Bindings the command palette does not offer (it is open already, or they only move).
NOT_IN_PALETTE = {"command_palette", "back", "next_view", "previous_view"}
#: How many of a search's newest hits give their snippets to the results.
SNIPPETS = 500
#: The sidebar's counts are read again after this long even when nothing changed.
COUNTS_MAX_AGE_S = 30.0
#: Seconds at least between two reads of the hotlist for the status line's count: at
#: 100,000 conversations its steps take seconds to read, and a busy live channel changes
#: the store twice a second (``!`` reads it afresh whatever the count says).
HOTLIST_EVERY_S = 10.0
#: Where a saved search goes: the agent's config, or the store for the whole team.
WHERE = ("personal", "shared")
#: What typed in the search box goes straight to a conversation: ``338``, ``#338``.
CONVERSATION_ID = re.compile(r"#?(\d+)")

log = logging.getLogger(__name__)


class MainScreen(Screen[None], inherit_bindings=False):
    """Everything an agent works in. Attributes down: :meth:`reload`, :meth:`switch_view`,
    :meth:`step_view`, :meth:`start_search`, :meth:`go_back`; messages up: :class:`Refreshed`
    after each reload."""

    #: j/k move the queue's cursor while the thread is read. Screen's own tab/shift+tab
    #: (focus next/previous) are not inherited: here they step through the views.
    BINDINGS = bindings("", only=("cursor_down", "cursor_up"))
    HELP_TITLE = "Queue"

    DEFAULT_CSS = """
    MainScreen {
        layers: default overlay;
    }
    """

    #: Textual's own ``focused``, without its repaint: that marked the whole screen dirty
    #: on every focus change, so opening the saved-reply picker (focus to its filter)
    #: rendered every widget of the console again. What focus changes on screen — the
    #: :focus styles of the widgets losing and gaining it — Textual restyles and repaints
    #: by itself.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.view = View("open")
        self.previous_view = self.view
        self.counts: dict[str, int] = {}
        #: What the counts were read for (see :meth:`_counts`), and when.
        self._counted_for: tuple[object, ...] | None = None
        self._counted_at = 0.0
        self.channel_kinds: dict[str, str] = {}
        #: name → (health, detail) as the process running each channel reports it.
        self.channel_health: dict[str, tuple[str, str | None]] = {}
        #: How many reloads have completed (tests wait on it).
        self.refreshes = 0
        self._preview_timer: Timer | None = None
        self._first_paint_done = False
        #: The agent's own views (the config's, and those saved here since).
        self.personal_views: list[ViewDefinition] = list(services.config.views.values())
        #: The conversation the cursor was on when the search opened (escape goes back).
        self._cursor_before_search: int | None = None
        #: Where the next reload puts the cursor, and whether it opens that conversation.
        self._keep_on_load: int | None = None
        self._open_after_load = False
        #: What needs the agent most, across views (read after a reload, at most every
        #: ``HOTLIST_EVERY_S``; see :meth:`_read_hotlist_soon`).
        self.hotlist = hotlist.Hotlist(())
        self._hotlist_read_at: float | None = None
        self._hotlist_timer: Timer | None = None
        self._hotlist_at_once = True

    def compose(self) -> ComposeResult:
        services = self.services
        # Over the rest (its layer), shown on demand. First: Textual numbers the painting
        # order from the last child, so showing a first child moves no other widget's
        # place — the picker's region is all that is painted when it opens.
        yield ReplyPicker(id="reply-picker")
        with Horizontal(id="main-body"):
            yield Sidebar(id="sidebar")
            with ConversationActions(services, id="work-column"):
                yield SearchBox(id="search")
                yield SearchError(id="search-error")
                yield ChannelNotice(id="channel-notice")
                yield QueueHeader(id="queue-header")
                yield QueueView(
                    services.store.queue_rows,
                    clock=services.clock,
                    id="queue",
                    empty_text="No conversations in this view.",
                )
                yield ConversationDesk(services, id="desk")
        yield StatusLine(id="status-line")
        yield KeyFooter()

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

    def reload(
        self, *, reset: bool = False, keep_position: bool = False, others: bool = False
    ) -> None:
        """Reload counts, the view's index and the open conversation (in a worker);
        ``keep_position`` after the agent's own action (the cursor stays at its place).
        ``others``: for changes made elsewhere (the hotlist is then read at most every
        ``HOTLIST_EVERY_S``; after this console's own actions and view switches, at once)."""
        if not others:
            self._hotlist_at_once = True
        self.run_worker(
            deferred(self._reload, reset, keep_position),
            group="reload",
            exclusive=True,
            exit_on_error=False,
        )

    async def _reload(self, reset: bool, keep_position: bool = False) -> None:
        try:
            await self._load(reset, keep_position)
        except QueryError as error:
            if self.view.kind != "search":
                raise
            self.query_one(SearchError).show(format_error(error))
        except AgentConsoleError as error:
            self.post_message(Notice(str(error), "error"))
        # Not on cancellation (a newer reload replaced this one): only a finished reload counts.
        self.refreshes += 1
        self.post_message(Refreshed())

    async def _load(self, reset: bool, keep_position: bool = False) -> None:
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
                self.queue.prime(first, await store.queue_rows(first))
            ids = await store.conversation_ids(view)
        if view != self.view:
            return
        if view.kind == "search":
            self.query_one(SearchError).show(None)
            self.queue.set_snippets(await self._snippets(view.arg))
        else:
            self.queue.set_snippets({})
        shown = self.pane.conversation_id
        # The same view again (not a switch): the row under the agent may have gone.
        was_current = not reset and shown is not None and shown == self.queue.current_id
        keep, self._keep_on_load = self._keep_on_load, None
        self.queue.set_ids(
            ids, keep=keep, reset=reset and keep is None, keep_position=keep_position
        )
        current = self.queue.current_id
        if (
            was_current
            and not self._open_after_load
            and shown is not None
            and current is not None
            and current != shown
        ):
            # The row the agent was on left the view or moved: whichever load shows the
            # conversation now under the cursor says so (never a silent swap).
            why = "moved" if shown in ids else "left this view"
            notice = f"#{shown} {why} — this is #{current}, now at your place in the list"
            self.pane.moved_to(current, Text(notice, end=""))
        self._show_status()
        if not self._first_paint_done:
            self._first_paint_done = True
            self.post_message(FirstPaint())
        channels = await store.channels(with_counts=False)
        definitions = views.sidebar(
            self.personal_views,
            await store.shared_views(),
            [channel.name for channel in channels],
            await store.tags(),
        )
        counts = await self._counts(definitions)
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
        at_once, self._hotlist_at_once = self._hotlist_at_once, False
        self._read_hotlist_soon(at_once=at_once)
        self.sidebar.update_views(
            counts, view, self.channel_kinds, self.channel_health, definitions
        )
        self._show_status()
        current = self.queue.current_id
        if shown is not None and (shown == current or self.composer.is_open):
            await self.desk.load(shown)
        elif current is None:
            await self.pane.clear("No conversation selected.")
        elif was_current and shown is not None:
            await self.desk.load(current)  # at once, with the note set above
        if self._open_after_load:
            self._open_after_load = False
            if current is None:
                self.post_message(Notice("No such conversation.", "warning"))
            else:
                self.add_class("-reading")
                await self.desk.load(current)
                self.pane.thread.focus()

    def _read_hotlist_soon(self, *, at_once: bool) -> None:
        """Read the hotlist again for the status line's count, in a worker of its own so a
        reload never waits for it: ``at_once``, or else once ``HOTLIST_EVERY_S`` have
        passed since the last read began."""
        if self._hotlist_timer is not None:
            if not at_once:
                return  # a read is due already
            self._hotlist_timer.stop()
        started = self._hotlist_read_at
        wait = 0.0 if started is None else started + HOTLIST_EVERY_S - time.monotonic()
        if wait > 0 and not at_once:
            self._hotlist_timer = self.set_timer(wait, self._read_hotlist)
        else:
            self._read_hotlist()

    def _read_hotlist(self) -> None:
        """Read it now; a read still running is given up (this one is newer)."""
        self._hotlist_timer = None
        self._hotlist_read_at = time.monotonic()

        async def read() -> None:
            try:
                self.hotlist = await hotlist.read(self.services.store)
            except AgentConsoleError as error:
                log.warning("hotlist not read: %s", one_line(str(error)))
                return
            self._show_status()

        self.run_worker(deferred(read), group="hotlist-count", exclusive=True, exit_on_error=False)

    async def _counts(self, definitions: Sequence[ViewDefinition]) -> dict[str, int]:
        """The sidebar's counts, read again only when they can have moved: the store
        changed, the views did, or ``COUNTS_MAX_AGE_S`` passed (views such as
        ``waiting:>4h`` move with the clock alone). Typing a search reloads the queue on
        every pause but changes no count (a saved view with common words takes seconds
        to count at 100,000 conversations)."""
        store = self.services.store
        basis = (await store.change_token(), tuple((d.key, d.query) for d in definitions))
        now = self.services.clock()
        if basis == self._counted_for and now - self._counted_at < COUNTS_MAX_AGE_S:
            return self.counts
        counts = await store.count({d.key: parse(d.query) for d in definitions})
        self._counted_for, self._counted_at = basis, now
        return counts

    async def _snippets(self, query: str) -> dict[int, Text]:
        """The newest hit's snippet of each conversation the search finds, highlighted (a
        query of fields alone has none)."""
        words = search_words(query)
        if not words:
            return {}
        try:
            hits = await self.services.store.search(parse(query, prefix_last=True), SNIPPETS)
        except AgentConsoleError:
            return {}
        snippets: dict[int, Text] = {}
        for hit in hits:  # newest first: the first hit of a conversation is kept
            if hit.conversation_id not in snippets:
                snippets[hit.conversation_id] = highlight(hit.snippet, words)
        return snippets

    def _show_status(self) -> None:
        position = (self.queue.cursor, len(self.queue.ids))
        actions = self.actions
        last = actions.last_undo
        undo = f"{keys_of(self, 'undo')} undoes {last.label}" if last else None
        if actions.held:
            held = actions.held[-1]
            # In the composer the undo key types: it works once the composer is left.
            first = f"{keys_of(self, 'back')}, then " if self.composer.is_open else ""
            together = actions.held_with(held)  # a bulk reply is taken back whole
            what = f"reply to #{held.conversation_id} sends"
            if together > 1:
                what = f"{together} replies send"
            undo = (
                f"{what} in {held.seconds_left()} s —"
                f" {first}{keys_of(self, 'undo')} takes {'them' if together > 1 else 'it'} back"
            )
        self.query_one(StatusLine).show(
            self.services.config.agent,
            self.view,
            self.channel_kinds,
            position,
            self.channel_health,
            marked=len(self.queue.marked),
            undo=undo,
            waiting=(self.hotlist.count, keys_of(self, "next_urgent")),
        )
        self.query_one(ChannelNotice).show(self.view, self.channel_health)

    def _load_detail(self, conversation_id: int) -> None:
        self.run_worker(
            deferred(self.desk.load, conversation_id),
            group="detail",
            exclusive=True,
            exit_on_error=False,
        )

    @on(ReplyPicker.Requested)
    def _pick_reply(self, event: ReplyPicker.Requested) -> None:
        event.stop()
        picker = self.query_one(ReplyPicker)
        picker.open(
            event.library, event.detail, event.agent, event.folders, event.done, event.title
        )

    @on(ReplyPicker.LibraryRead)
    def _library_read(self, event: ReplyPicker.LibraryRead) -> None:
        event.stop()
        self.query_one(ReplyPicker).refresh_library(event.library)

    @on(StoreChanged)
    def _store_changed(self, event: StoreChanged) -> None:
        if event.select is not None:
            self._keep_on_load = event.select
        self.reload(keep_position=event.keep_position)

    @on(QueueView.MarksChanged)
    @on(UndoOffered)
    def _marks_changed(self) -> None:
        self._show_status()

    # -- after sending: the next conversation, and undo ----------------------------------

    @on(ReplyQueued)
    def _reply_queued(self, event: ReplyQueued) -> None:
        seconds = event.undo_seconds
        when = (
            f" — sends in {seconds:g} s, {keys_of(self, 'undo')} takes it back" if seconds else ""
        )
        if not event.quiet:
            self.post_message(Notice(f"Reply to #{event.conversation_id} queued{when}."))
        if event.advance:
            self.open_next_after(event.conversation_id)
        else:
            self.reload()

    def open_next_after(self, done: int) -> None:
        """Open the conversation after ``done`` in the view (the one before it when it was
        the last), as the view stands once the store has the change."""
        ids = list(self.queue.ids)
        following: int | None
        if done in ids:
            index = ids.index(done)
            following = ids[index + 1] if index + 1 < len(ids) else None
            if following is None and index > 0:
                following = ids[index - 1]
        else:
            following = self.queue.current_id
        if following is None:
            self.post_message(Notice("That was the last conversation of this view."))
            self.reload()
            return
        self._keep_on_load = following
        self._open_after_load = True
        self.reload()

    @on(ReplyUnsent)
    def _reply_unsent(self, event: ReplyUnsent) -> None:
        """The reply taken back opens again in the composer, its text restored."""
        self.add_class("-reading")
        self.desk.start(event.conversation_id, "reply")
        self.reload()

    @on(OpenConversation)
    def _open_conversation(self, event: OpenConversation) -> None:
        self.open_conversation(event.conversation_id, event.why)

    def open_conversation(self, conversation_id: int, why: str | None = None) -> None:
        """Show ``conversation_id``: in this view when it is listed, else on its own (a
        search for it; escape goes back to the view)."""
        if why:
            self.post_message(Notice(f"#{conversation_id}: {why}"))
        if conversation_id in self.queue.ids:
            self.queue.cursor = list(self.queue.ids).index(conversation_id)
            self.add_class("-reading")
            self._load_detail(conversation_id)
            self.pane.thread.focus()
            return
        if self.view.kind != "search":
            self.previous_view = self.view
            self._cursor_before_search = self.queue.current_id
        self.queue.clear_marks()
        self.view = View("search", f"id:{conversation_id}")
        self._open_after_load = True
        self.reload(reset=True)

    def next_urgent(self) -> None:
        """Open what needs the agent most (see :mod:`agentconsole.hotlist`), other than the
        conversation already open."""

        async def jump() -> None:
            try:
                found = await hotlist.read(self.services.store)
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
                return
            self.hotlist = found
            self._show_status()
            shown = self.pane.conversation_id
            pick = found.first(skip=() if shown is None else (shown,))
            if pick is None:
                self.post_message(Notice("Nothing is waiting for you."))
                return
            row, reason = pick
            self.open_conversation(row.id, reason)

        self.run_worker(deferred(jump), group="hotlist", exclusive=True, exit_on_error=False)

    def show_rules(self) -> None:
        """The rules screen (see :mod:`.rules`); a sample chosen there opens here."""
        from ...rules.loading import load_rules
        from .rules import RulesScreen

        services = self.services

        def opened(conversation_id: int | None) -> None:
            if conversation_id is not None:
                self.open_conversation(conversation_id)

        async def show() -> None:
            try:
                rules = await asyncio.to_thread(load_rules, services.config)
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
                return
            store = services.store
            screen = RulesScreen(rules, store.replay_rule, store.conversation_rows, services.clock)
            self.app.push_screen(screen, opened)

        self.run_worker(deferred(show), group="rules", exclusive=True, exit_on_error=False)

    def toggle_sidebar(self) -> None:
        sidebar = self.sidebar
        sidebar.display = not sidebar.display

    @on(Composer.Toggled)
    def _composer_toggled(self, event: Composer.Toggled) -> None:
        self.set_class(event.is_open, "-composing")
        self._show_status()

    # -- the queue --------------------------------------------------------------------------

    @on(QueueView.CursorMoved)
    def _cursor_moved(self, event: QueueView.CursorMoved) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        conversation_id = event.conversation_id
        if conversation_id is None:
            self._show_status()
            if not self.composer.is_open:
                self.run_worker(
                    deferred(self.pane.clear), group="detail", exclusive=True, exit_on_error=False
                )
            return
        # The status line's position and the pane follow once the cursor rests: repainting
        # the bottom row with every held key would repaint the whole screen with it.
        self._preview_timer = self.set_timer(PREVIEW_DELAY, lambda: self._preview(conversation_id))

    def _preview(self, conversation_id: int) -> None:
        self._show_status()
        if not self.composer.is_open and self.queue.current_id == conversation_id:
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

    def switch_view(self, view: View, *, keep: int | None = None) -> None:
        """Show ``view`` from its top (or with the cursor on ``keep``)."""
        if view.kind != "search":
            self._hide_search()
        if view != self.view:
            self.queue.clear_marks()
        self._keep_on_load = keep
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
            self._cursor_before_search = self.queue.current_id
        self.search.open()

    def _hide_search(self) -> None:
        had_focus = self.search.has_focus
        self.search.close()
        self.query_one(SearchError).show(None)
        if had_focus:
            self.queue.focus()

    @on(SearchBox.Query)
    def _search_query(self, event: SearchBox.Query) -> None:
        if event.text.strip():
            if self.view.kind != "search":
                self.queue.clear_marks()
            self.view = View("search", event.text)
            self.reload(reset=True)
        elif self.view.kind == "search":
            self.switch_view(self.previous_view, keep=self._cursor_before_search)
            self.start_search()

    @on(SearchBox.Done)
    def _search_done(self, event: SearchBox.Done) -> None:
        self.queue.focus()
        jump = self.jump_query(self.search.value)
        if jump is not None:
            self.view = View("search", jump)
            self._open_after_load = True
            self.reload(reset=True)

    @staticmethod
    def jump_query(text: str) -> str | None:
        """The query that goes straight to what ``text`` names: a conversation id (``338``,
        ``#338``) or a contact's address (``ada@example.com``); ``None`` for a search."""
        text = text.strip()
        if match := CONVERSATION_ID.fullmatch(text):
            return f"id:{match.group(1)}"
        if "@" in text and ":" not in text and not any(char.isspace() for char in text):
            return to_query(parse_field("contact", text))
        return None

    def go_back(self) -> None:
        """Escape: unmark, leave the search, the reading mode, or the search view, in that
        order; leaving a search puts the cursor back where it was."""
        if self.queue.clear_marks():
            return
        if self.search.has_focus or self.view.kind == "search":
            self._hide_search()
            if self.view.kind == "search":
                self.switch_view(self.previous_view, keep=self._cursor_before_search)
            return
        if self.has_class("-reading") or not self.queue.has_focus:
            self.remove_class("-reading")
            self.queue.focus()

    def on_key(self, event: events.Key) -> None:
        """A saved view's own key jumps to it (bound keys keep their action)."""
        if isinstance(self.focused, Input | TextArea) or event.key in self.active_bindings:
            return
        view = self.sidebar.shortcut(event.character or event.key)
        if view is not None:
            event.stop()
            event.prevent_default()
            self.switch_view(view)

    @on(SaveViewRequested)
    def _save_view(self) -> None:
        query = self.view.arg if self.view.kind == "search" else ""
        if not query.strip():
            search = keys_of(self, "search")
            self.post_message(
                Notice(f"Search first ({search}), then save it as a view.", "warning")
            )
            return

        def check(value: str) -> Text:
            name = value.strip()
            if not name or any(char in name for char in '[]"\n'):
                raise ValueError("a name, such as vip-billing")
            return Text.assemble("view ", (one_line(name), "bold"), f" = {one_line(query)}")

        def named(value: str) -> None:
            def where(choice: str) -> None:
                self.run_worker(
                    self._write_view(value.strip(), query, shared=choice == "shared"),
                    group="save-view",
                    exit_on_error=False,
                )

            ask_choice(self, Text("Keep it for you, or share it with the team?"), WHERE, where)

        ask_line(self, Text("Save this search as a view named…"), named, check=check)

    async def _write_view(self, name: str, query: str, *, shared: bool) -> None:
        """The view into the config file (personal, as ``agentconsole views add``) or the
        store (shared), then shown."""
        from ... import config as config_module
        from ...views_cli import add_personal

        config = self.services.config
        try:
            if shared:
                await self.services.store.save_view(name, query)
                key, where = f"view:{name}", "shared with the team"
            else:
                file = await asyncio.to_thread(add_personal, config, name, query)
                loaded = await asyncio.to_thread(config_module.load, str(file))
                config.views = loaded.views
                self.personal_views = list(loaded.views.values())
                key, where = loaded.views[name].key, f"saved in {file}"
        except (AgentConsoleError, ValueError) as error:
            self.post_message(Notice(str(error), "error"))
            return
        self.post_message(Notice(f"View {one_line(name)} {where}."))
        definition = ViewDefinition(key, name, query, source="shared" if shared else "personal")
        self.switch_view(view_of(definition))

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
        for view in map(view_of, self.sidebar.every):  # Spam too, while it is empty
            label = view_label(view, self.channel_kinds)
            go = functools.partial(self.switch_view, view)
            entries.append(PaletteEntry(f"Go to view: {label}", "view", go))
        return entries
