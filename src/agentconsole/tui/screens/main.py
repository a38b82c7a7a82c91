"""The main screen: sidebar of views, the queue, the open conversation and its composer."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from ...errors import AgentConsoleError, ConflictError, NotFoundError, UsageError
from ...models import ConversationDetail, View
from ...sanitize import one_line
from ..keys import bindings
from ..safe_text import safe_text
from ..thread_text import last_customer_message, quoted
from ..widgets.composer import Composer
from ..widgets.conversation import ConversationPane
from ..widgets.queue import QueueView
from ..widgets.sidebar import Sidebar, view_label
from .conversation_actions import ConversationActions
from .prompts import ConfirmScreen, PromptScreen

if TYPE_CHECKING:
    from ..app import AgentConsoleApp

#: How long the cursor rests on a conversation before it is loaded into the pane.
PREVIEW_DELAY = 0.15
#: How long after the last key press a draft is written to the store.
DRAFT_DELAY = 0.8


class MainScreen(ConversationActions, Screen[None]):
    """Everything an agent works in. The app owns the store and the runner; this screen
    loads what it shows in workers and never awaits the database in a key handler."""

    BINDINGS = bindings("conversation") + bindings("", only=("cursor_down", "cursor_up"))

    def __init__(self) -> None:
        super().__init__()
        self.view = View("open")
        self.previous_view = self.view
        self.counts: dict[str, int] = {}
        self.channel_kinds: dict[str, str] = {}
        #: name → (health, detail) as the process running each channel reports it.
        self.channel_health: dict[str, tuple[str, str | None]] = {}
        self._preview_timer: Timer | None = None
        #: Conversation id → the newest message id shown when its composer opened.
        self._seen_up_to: dict[int, int] = {}
        self._draft_timer: Timer | None = None
        self._search_timer: Timer | None = None

    @property
    def console_app(self) -> AgentConsoleApp:
        return cast("AgentConsoleApp", self.app)

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.console_app
        with Horizontal(id="main-body"):
            yield Sidebar(id="sidebar")
            with Vertical(id="work-column"):
                yield Input(placeholder="Search messages (escape to leave)", id="search")
                yield QueueView(
                    app.store.conversation_rows,
                    clock=app.clock,
                    id="queue",
                    empty_text="No conversations in this view.",
                )
                yield ConversationPane(id="conversation")
        yield Static("", id="status-line", markup=False)
        yield Footer()

    @property
    def queue(self) -> QueueView:
        return self.query_one(QueueView)

    @property
    def pane(self) -> ConversationPane:
        return self.query_one(ConversationPane)

    @property
    def composer(self) -> Composer:
        return self.pane.composer

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    def on_mount(self) -> None:
        self.queue.focus()
        self.reload(reset=True)

    # -- loading ----------------------------------------------------------------------------

    def reload(self, *, reset: bool = False) -> None:
        """Reload counts, the view's index and the open conversation (in a worker)."""
        self.run_worker(self._reload(reset), group="reload", exclusive=True, exit_on_error=False)

    async def _reload(self, reset: bool) -> None:
        store = self.console_app.store
        view = self.view
        try:
            if view.kind == "search" and not view.arg.strip():
                ids: list[int] = []
            else:
                if not self.queue.ids and view.kind != "search":
                    # First paint: the top of the queue with its rows, before the whole
                    # index and the counts are read.
                    first = await store.conversation_ids(view, limit=self.queue.window)
                    if view != self.view:
                        return
                    self.queue.prime(first, await store.conversation_rows(first))
                ids = await store.conversation_ids(view)
        except AgentConsoleError as error:
            self.console_app.report(str(error), severity="error")
            return
        if view != self.view:
            return
        shown = self.pane.conversation_id
        self.queue.set_ids(ids, reset=reset)
        self._update_status()
        self.console_app.first_screen_shown()
        try:
            counts = await store.view_counts()
            channels = await store.channels(with_counts=False)
        except AgentConsoleError as error:
            self.console_app.report(str(error), severity="error")
            return
        self.channel_kinds = {c.name: c.kind for c in channels}
        self.channel_health = {c.name: (c.health, c.health_detail) for c in channels}
        if not channels and not self.console_app.config.channels:
            self.queue.empty_text = (
                "No channels yet. Write a config file with every key explained:\n"
                f"  agentconsole config example > {self.console_app.config.file}\n"
                "and switch on the channels you edit, or try the live demo:\n"
                "  agentconsole demo"
            )
            self.queue.refresh()
        self.counts = counts
        self.sidebar.update_views(counts, view, self.channel_kinds, self.channel_health)
        self._update_status()
        current = self.queue.current_id
        if shown is not None and (shown == current or self.composer.is_open):
            await self._load_detail(shown)
        elif current is None:
            await self.pane.clear("No conversation selected.")

    async def _load_detail(self, conversation_id: int) -> None:
        try:
            detail = await self.console_app.store.conversation(conversation_id)
        except NotFoundError:
            if self.pane.conversation_id == conversation_id:
                await self.pane.clear("This conversation no longer exists.")
            return
        except AgentConsoleError as error:
            self.console_app.report(str(error), severity="error")
            return
        keep = self.composer.conversation_id
        if keep is not None and keep != conversation_id:
            return  # never swap the conversation under an open composer
        await self.pane.show(detail, self.console_app.clock())
        self.pane.set_read_only(self._read_only_notice(detail))
        try:
            others = await self.console_app.store.others_writing(conversation_id)
        except AgentConsoleError:
            others = []
        self.pane.set_others_writing(others, self.console_app.clock())

    def _read_only_notice(self, detail: ConversationDetail) -> Text | None:
        if self.console_app.can_reply(detail.row.channel):
            return None
        text = Text("This channel is read-only — ", style="bold", end="")
        if detail.url:
            text.append("open on the site: ")
            text.append_text(safe_text(detail.url, "underline", multiline=False))
        else:
            text.append("answer on the site itself.")
        return text

    def _update_status(self) -> None:
        app = self.console_app
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(" ")
        text.append_text(safe_text(app.config.agent, "bold", multiline=False))
        text.append("  ·  ")
        text.append(view_label(self.view, self.channel_kinds), style="bold")
        count = len(self.queue.ids)
        text.append(f"  ·  {count} conversation{'s' if count != 1 else ''}")
        if self.queue.ids:
            text.append(f"  ·  {self.queue.cursor + 1}/{count}", style="dim")
        failing = {n: d for n, (h, d) in self.channel_health.items() if h == "error"}
        if self.view.kind == "channel" and self.view.arg in failing:
            text.append("  ·  ⚠ ", style="bold red")
            text.append_text(safe_text(failing[self.view.arg] or "error", "red", multiline=False))
        elif failing:
            names = ", ".join(one_line(n) for n in sorted(failing))
            text.append(f"  ·  ⚠ channel error: {names}", style="bold red")
        self.query_one("#status-line", Static).update(text)

    # -- the queue --------------------------------------------------------------------------

    @on(QueueView.CursorMoved)
    def _cursor_moved(self, event: QueueView.CursorMoved) -> None:
        self._update_status()
        if self._preview_timer is not None:
            self._preview_timer.stop()
        if event.conversation_id is None:
            if not self.composer.is_open:
                self.run_worker(
                    self.pane.clear("No conversation selected."),
                    group="detail",
                    exclusive=True,
                    exit_on_error=False,
                )
            return
        if self.composer.is_open:
            return
        conversation_id = event.conversation_id
        self._preview_timer = self.set_timer(PREVIEW_DELAY, lambda: self._preview(conversation_id))

    def _preview(self, conversation_id: int) -> None:
        if self.queue.current_id == conversation_id:
            self.run_worker(
                self._load_detail(conversation_id),
                group="detail",
                exclusive=True,
                exit_on_error=False,
            )

    @on(QueueView.Opened)
    def _opened(self, event: QueueView.Opened) -> None:
        self.add_class("-reading")
        if self.pane.conversation_id != event.conversation_id:
            self.run_worker(
                self._load_detail(event.conversation_id),
                group="detail",
                exclusive=True,
                exit_on_error=False,
            )
        self.pane.thread.focus()

    @on(Sidebar.Selected)
    def _sidebar_selected(self, event: Sidebar.Selected) -> None:
        self.switch_view(event.view)

    def switch_view(self, view: View) -> None:
        if view.kind != "search":
            self._hide_search()
        self.view = view
        self.sidebar.update_views(self.counts, view, self.channel_kinds, self.channel_health)
        self.reload(reset=True)

    def step_view(self, delta: int) -> None:
        base = self.previous_view if self.view.kind == "search" else self.view
        self.sidebar.current = base
        self.switch_view(self.sidebar.step(delta))

    def action_cursor_down(self) -> None:
        self.queue.move_cursor(1)

    def action_cursor_up(self) -> None:
        self.queue.move_cursor(-1)

    # -- search -----------------------------------------------------------------------------

    def start_search(self) -> None:
        search = self.query_one("#search", Input)
        if self.view.kind != "search":
            self.previous_view = self.view
        search.add_class("-shown")
        search.focus()

    def _hide_search(self) -> None:
        search = self.query_one("#search", Input)
        search.remove_class("-shown")
        if search.has_focus:
            self.queue.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        query = event.value
        self._search_timer = self.set_timer(0.25, lambda: self._run_search(query))

    def _run_search(self, query: str) -> None:
        if not query.strip():
            if self.view.kind == "search":
                self.switch_view(self.previous_view)
                self.start_search()
            return
        self.view = View("search", query)
        self.reload(reset=True)

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        if event.value.strip():
            self._run_search(event.value)
        self.queue.focus()

    def go_back(self) -> None:
        """Escape: leave the search, the reading mode, or the search view, in that order."""
        search = self.query_one("#search", Input)
        if search.has_focus or self.view.kind == "search":
            search.value = ""
            self._hide_search()
            if self.view.kind == "search":
                self.switch_view(self.previous_view)
            return
        if self.has_class("-reading") or not self.queue.has_focus:
            self.remove_class("-reading")
            self.queue.focus()

    # -- composing --------------------------------------------------------------------------

    def action_reply(self) -> None:
        self._start_composer("reply")

    def action_note(self) -> None:
        self._start_composer("note")

    def _start_composer(self, kind: str, then: Callable[[], object] | None = None) -> None:
        target = self._need_target()
        if target is None:
            return
        if self.composer.is_open:
            if self.composer.conversation_id == target and self.composer.kind == kind:
                self.composer.text_area.focus()
                if then:
                    then()
                return
            self._close_composer()
        self.run_worker(
            self._open_composer(target, kind, then),
            group="composer",
            exclusive=True,
            exit_on_error=False,
        )

    async def _open_composer(
        self, target: int, kind: str, then: Callable[[], object] | None
    ) -> None:
        app = self.console_app
        try:
            detail = self.pane.detail
            if detail is None or detail.row.id != target:
                detail = await app.store.conversation(target)
                await self.pane.show(detail, app.clock())
            if kind == "reply" and not app.can_reply(detail.row.channel):
                notice = self._read_only_notice(detail)
                self.pane.set_read_only(notice)
                app.report(notice.plain if notice else "read-only channel", severity="warning")
                return
            body = app.drafts.get(target, kind)
            if body is None:
                body = await app.store.draft(target, kind) or ""
        except AgentConsoleError as error:
            app.report(str(error), severity="error")
            return
        name = one_line(detail.contact.name or detail.row.contact_name) or "the customer"
        if kind == "reply":
            title = Text("Reply to ", end="")
            title.append(name, style="bold")
            title.append(" on ")
            title.append(kind_and_channel(detail))
            customer = last_customer_message(detail)
            quote = (
                Text(quoted(customer, app.clock(), max_lines=5), style="dim", end="")
                if customer
                else None
            )
        else:
            title = Text("Internal note — only agents see it", end="")
            quote = None
        self.add_class("-composing")
        # What the agent had in front of them: a reply another agent sends after this is a
        # collision, reported before anything goes out.
        self._seen_up_to[target] = max((m.id for m in detail.messages), default=0)
        self.composer.start(target, kind, title, quote, body)
        if then:
            then()

    def _close_composer(self) -> None:
        composer = self.composer
        if composer.is_open and composer.conversation_id is not None:
            self.console_app.drafts.keep(composer.conversation_id, composer.kind, composer.body)
            composer.stop()
            self._flush_drafts()
        self.remove_class("-composing")

    @on(Composer.DraftChanged)
    def _draft_changed(self, event: Composer.DraftChanged) -> None:
        self.console_app.drafts.keep(event.conversation_id, event.kind, event.body)
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self._flush_drafts)

    def _flush_drafts(self) -> None:
        self.run_worker(self.console_app.flush_drafts(), group="drafts", exit_on_error=False)

    @on(Composer.Closed)
    def _composer_closed(self, event: Composer.Closed) -> None:
        self.console_app.drafts.keep(event.conversation_id, event.kind, event.body)
        self._flush_drafts()
        self.remove_class("-composing")
        if event.body.strip():
            self.console_app.report("Draft kept.")
        self.pane.thread.focus()

    @on(Composer.AttachRequested)
    def _attach_requested(self, event: Composer.AttachRequested) -> None:
        from ...attachments import read_for_sending

        app = self.console_app
        channel = self.pane.detail.row.channel if self.pane.detail else None
        if channel is not None and not app.can_attach(channel):
            app.report(f"{one_line(channel)} cannot send attachments.", severity="warning")
            return

        def check(value: str) -> Text:
            path = Path(value.strip()).expanduser()
            if not path.is_file():
                raise UsageError(f"no file at {path}")
            return Text(f"attach {path.name} ({path.stat().st_size} bytes)", style="dim")

        def answered(value: str | None) -> None:
            if value is None:
                return
            try:
                self.composer.add_attachment(read_for_sending(value.strip()))
            except AgentConsoleError as error:
                app.report(str(error), severity="error")
            self.composer.text_area.focus()

        app.push_screen(
            PromptScreen(Text("Attach which file?"), value=str(Path.cwd()) + os.sep, check=check),
            answered,
        )

    @on(Composer.Send)
    def _send(self, event: Composer.Send) -> None:
        app = self.console_app
        conversation_id, kind, body = event.conversation_id, event.kind, event.body
        files = event.attachments
        channel = self.pane.detail.row.channel if self.pane.detail else None
        seen = None if event.anyway else self._seen_up_to.get(conversation_id)

        async def send() -> None:
            try:
                async with app.drafts.sending(conversation_id, kind):
                    if kind == "note":
                        await app.store.add_note(conversation_id, body)
                    else:
                        await app.store.queue_reply(
                            conversation_id, body, attachments=files, seen_up_to=seen
                        )
            except ConflictError as error:
                app.drafts.keep(conversation_id, kind, body)
                await self._load_detail(conversation_id)

                def answered(anyway: bool | None) -> None:
                    if anyway:
                        self.post_message(
                            Composer.Send(conversation_id, kind, body, files, anyway=True)
                        )

                app.push_screen(
                    ConfirmScreen(safe_text(f"{error}\n\nSend yours anyway?")), answered
                )
                return
            except AgentConsoleError as error:
                app.drafts.keep(conversation_id, kind, body)
                app.report(str(error), severity="error")
                return
            if kind == "reply" and channel:
                app.nudge(channel)
            if self.composer.conversation_id == conversation_id:
                self.composer.stop()
                self.remove_class("-composing")
                self.pane.thread.focus()
            app.report("Note added." if kind == "note" else "Reply queued.")
            await self._reload(False)
            await self._load_detail(conversation_id)

        self.run_worker(send(), group="actions", exit_on_error=False)

    def action_editor(self) -> None:
        if self.composer.is_open:
            self._edit_in_editor()
        else:
            self._start_composer("reply", then=self._edit_in_editor)

    def _edit_in_editor(self) -> None:
        composer = self.composer
        if not composer.is_open or composer.conversation_id is None:
            return
        app = self.console_app
        body = composer.body
        if not body.strip() and composer.kind == "reply" and self.pane.detail:
            customer = last_customer_message(self.pane.detail)
            if customer:
                body = "\n\n" + quoted(customer, app.clock()) + "\n"
        edited = run_editor(app, body)
        if edited is not None:
            composer.set_body(edited.rstrip("\n"))
            composer.text_area.focus()

    def save_open_draft(self) -> None:
        """Put what the composer holds into the draft buffer (the app flushes it)."""
        composer = self.composer
        if composer.is_open and composer.conversation_id is not None:
            self.console_app.drafts.keep(composer.conversation_id, composer.kind, composer.body)


def kind_and_channel(detail: ConversationDetail) -> Text:
    return safe_text(detail.row.channel, "cyan", multiline=False)


def run_editor(app: AgentConsoleApp, body: str) -> str | None:
    """Suspend the app, edit ``body`` in ``$VISUAL``/``$EDITOR`` and return the new text
    (``None`` if the editor failed or suspending is not possible here)."""
    from textual.app import SuspendNotSupported

    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    handle, name = tempfile.mkstemp(prefix="agentconsole-", suffix=".txt")
    path = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(body)
        try:
            with app.suspend():
                result = subprocess.run([*shlex.split(command), str(path)], check=False)
        except SuspendNotSupported:
            app.report(
                "Cannot open an editor here (the terminal cannot be suspended).", severity="warning"
            )
            return None
        except OSError as error:
            app.report(f"Cannot run {command}: {error}", severity="error")
            return None
        if result.returncode != 0:
            app.report(
                f"{command} exited with {result.returncode}; draft unchanged", severity="warning"
            )
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    finally:
        path.unlink(missing_ok=True)
