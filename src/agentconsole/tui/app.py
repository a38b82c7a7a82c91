"""The agentconsole TUI application: opens the store, runs the sync runner, watches for
changes made by anyone and hosts the main screen."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, ClassVar

from textual import events, on
from textual.app import App
from textual.binding import BindingType
from textual.timer import Timer

from .. import metrics
from ..config import Config
from ..errors import AgentConsoleError
from ..opening import open_store
from ..sanitize import one_line
from ..store import Store, is_postgres
from .commands import ConsoleCommands
from .deferred import deferred
from .drafts import DraftBuffer
from .keys import bindings, overrides
from .messages import FirstPaint, Notice, Refreshed, Severity
from .screens.help import HelpScreen, Sections, describe, help_chain
from .screens.main import MainScreen
from .screens.report import PERIODS, ReportScreen
from .services import Channels, Runner, Services

log = logging.getLogger(__name__)

#: Seconds between two looks at the store's change token.
POLL_INTERVAL = 0.4
#: The longest wait for one announced change before waiting again.
WATCH_SECONDS = 5.0
#: Seconds after the first screen is shown when memory is settled (see ``_settle_memory``).
SETTLE_SECONDS = 0.2
#: Seconds between two wake-ups of due snoozed conversations.
WAKE_INTERVAL = 15.0
#: A change seen while keys come faster than this (a held ``j``) waits for them to pause ...
KEYS_PAUSE = 0.15
#: ... but never longer than this: the screen still shows others' changes within a second.
MOST_DEFERRED = 0.8
#: A reload not finished after this long no longer holds the next one back.
RELOAD_STUCK = 10.0
#: Seconds at least between the starts of two reloads for others' changes: a burst (a busy
#: live channel writing twice a second) is shown by one reload, not one per message, and
#: still within about a second.
RELOAD_GAP = 0.8


RunnerFactory = Callable[[Store], Runner]


class AgentConsoleApp(App[None]):
    """The TUI. ``clock`` (seconds since the epoch) is injectable so tests and snapshots
    show stable ages such as "waiting 3h"."""

    CSS_PATH = "app.tcss"
    TITLE = "agentconsole"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = bindings("app")
    HELP_TITLE = "Everywhere"

    def __init__(
        self,
        store_path: str | Path,
        config: Config,
        runner_factory: RunnerFactory | None = None,
        *,
        clock: Callable[[], float] = time.time,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        super().__init__()
        self.store_path = store_path if is_postgres(store_path) else Path(store_path)
        self.config = config
        self.runner_factory = runner_factory
        self.clock = clock
        self.poll_interval = poll_interval
        self.runner: Runner | None = None
        self._store: Store | None = None
        self.drafts = DraftBuffer()
        self.channels = Channels()
        self.set_keymap(overrides(config.keys))
        self._token: Hashable | None = None
        self._polling = False
        self._poll_timer: Timer | None = None
        self._closed = False
        self._settled = False
        #: ``time.monotonic()`` of the last key, and since when a seen change waits for keys
        #: to pause (see :meth:`_check_changes`).
        self._last_key = 0.0
        self._deferred_since: float | None = None
        #: ``time.monotonic()`` when a change started a reload not finished yet.
        self._reloading_since: float | None = None
        self._reload_started_at = -RELOAD_GAP

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the store is not open yet")
        return self._store

    async def on_mount(self) -> None:
        try:
            self._store = await open_store(self.config, self.store_path)
        except AgentConsoleError as error:
            self.exit(message=str(error), return_code=1)
            return
        self._token = await self.store.change_token()
        services = Services(self._store, self.config, self.drafts, self.channels, self.clock)
        await self.push_screen(MainScreen(services))
        if self.runner_factory is not None:
            self.run_worker(deferred(self._start_runner), group="runner", exit_on_error=False)
        self._poll_timer = self.set_interval(self.poll_interval, self._poll)
        if self.store.announces_changes:  # a worker that never ends, only where it helps
            self.run_worker(deferred(self._watch), group="watch", exit_on_error=False)
        self.set_interval(WAKE_INTERVAL, self._wake_snoozed)
        self.run_worker(deferred(self._wake), group="wake", exit_on_error=False)
        self.run_worker(deferred(self._check_audit), group="audit", exit_on_error=False)

    async def _check_audit(self) -> None:
        """Warn once at start when the audit log's hash chain is broken."""
        try:
            check = await self.store.verify_audit()
        except AgentConsoleError as error:
            log.warning("cannot check the audit log: %s", error)
            return
        if not check.intact:
            self.report(
                f"The audit log was tampered with: {check.message} — "
                "see `agentconsole audit --verify`",
                severity="warning",
            )

    @on(FirstPaint)
    def _first_paint(self) -> None:
        if not self._settled:
            self._settled = True
            self.set_timer(SETTLE_SECONDS, self._settle_memory)

    def _settle_memory(self) -> None:
        """Collect once, then freeze what start-up built (Textual, the first screen, the
        queue's index): later full collections skip it. Measured: 30–70 ms pauses every few
        seconds of browsing, which showed as a stuck cursor, fall away."""
        gc.collect()
        gc.freeze()

    async def _start_runner(self) -> None:
        assert self.runner_factory is not None
        try:
            self.runner = self.runner_factory(self.store)
            self.channels.runner = self.runner
            await self.runner.start()
        except AgentConsoleError as error:
            self.report(f"Sync is not running: {error}", severity="error")
        except Exception as error:  # a broken plugin must not take the console down
            log.exception("sync runner failed to start")
            self.report(f"Sync is not running: {error}", severity="error")

    async def shutdown(self) -> None:
        """Write pending drafts, stop the runner, close the store (once)."""
        if self._closed:
            return
        self._closed = True
        if self._poll_timer is not None:
            self._poll_timer.stop()
        screen = self.main_screen
        if screen is not None:
            screen.keep_draft()
        if self._store is not None:
            try:
                await self.drafts.flush(self._store)
            except AgentConsoleError:
                log.exception("could not save drafts on exit")
        if self.runner is not None:
            try:
                await self.runner.stop()
            except Exception:
                log.exception("sync runner did not stop cleanly")
        if self._store is not None:
            await self._store.close()

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit()

    async def on_unmount(self) -> None:
        await self.shutdown()

    # -- live updates -----------------------------------------------------------------------

    def _poll(self) -> None:
        if not self._polling and self._store is not None and not self._closed:
            self._polling = True
            self.run_worker(deferred(self._check_changes), group="poll", exit_on_error=False)

    async def _watch(self) -> None:
        """Look at once when the store announces a change (PostgreSQL's NOTIFY), besides
        the poll: another agent's change shows in milliseconds, not at the next poll."""
        while not self._closed and self._store is not None:
            try:
                if await self._store.wait_for_change(WATCH_SECONDS):
                    self._poll()
            except AgentConsoleError as error:
                log.warning("change watch failed: %s", error)
                return

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._last_key = time.monotonic()
        await super().on_event(event)

    def _keys_running(self) -> bool:
        """Whether keys are coming in a run (a held key) and a reload can wait for them to
        pause: a reload reads the whole index and repaints the queue, which would hold up
        the next keys' repaints. Never for longer than :data:`MOST_DEFERRED`."""
        now = time.monotonic()
        if now - self._last_key >= KEYS_PAUSE:
            self._deferred_since = None
            return False
        if self._deferred_since is None:
            self._deferred_since = now
        if now - self._deferred_since >= MOST_DEFERRED:
            self._deferred_since = None
            return False
        return True

    def _reload_running(self) -> bool:
        """Whether the reload a change started is still running. At 100,000 conversations a
        reload reads for about half a second: started again on every change of a busy live
        channel, each would cancel the one before and the queue would never catch up."""
        since = self._reloading_since
        return since is not None and time.monotonic() - since < RELOAD_STUCK

    @on(Refreshed)
    def _refreshed(self) -> None:
        self._reloading_since = None

    async def _check_changes(self) -> None:
        try:
            token = await self.store.change_token()
            if token != self._token:
                if self._keys_running():
                    # The next poll looks again (the token is not taken as seen yet).
                    self.set_timer(KEYS_PAUSE, self._poll)
                    return
                if self._reload_running():
                    return  # the poll after it finishes sees this change
                wait = self._reload_started_at + RELOAD_GAP - time.monotonic()
                if wait > 0:
                    self.set_timer(wait, self._poll)  # this burst's next reload
                    return
                self._token = token
                screen = self.main_screen
                if screen is not None:
                    self._reloading_since = self._reload_started_at = time.monotonic()
                    screen.reload(others=True)
        except AgentConsoleError as error:
            log.warning("change check failed: %s", error)
        finally:
            self._polling = False

    def _wake_snoozed(self) -> None:
        self.run_worker(deferred(self._wake), group="wake", exit_on_error=False)

    async def _wake(self) -> None:
        if self._store is None or self._closed:
            return
        try:
            await self.store.wake_snoozed()
        except AgentConsoleError as error:
            log.warning("waking snoozed conversations failed: %s", error)

    # -- helpers for screens ----------------------------------------------------------------

    @property
    def main_screen(self) -> MainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def report(self, message: str, *, severity: Severity = "information") -> None:
        """A notification that may contain outside text: cleaned, never markup."""
        self.notify(one_line(message), severity=severity, markup=False)

    @on(Notice)
    def _notice(self, event: Notice) -> None:
        self.report(event.text, severity=event.severity)

    # -- app-wide actions -------------------------------------------------------------------

    def action_next_view(self) -> None:
        if (screen := self.main_screen) is not None and self.screen is screen:
            screen.step_view(1)

    def action_previous_view(self) -> None:
        if (screen := self.main_screen) is not None and self.screen is screen:
            screen.step_view(-1)

    def action_search(self) -> None:
        if (screen := self.main_screen) is not None and self.screen is screen:
            screen.start_search()

    def action_next_urgent(self) -> None:
        if (screen := self.main_screen) is not None and self.screen is screen:
            screen.next_urgent()

    def action_rules(self) -> None:
        if (screen := self.main_screen) is not None and self.screen is screen:
            screen.show_rules()

    def action_toggle_sidebar(self) -> None:
        if (screen := self.main_screen) is not None and self.screen is screen:
            screen.toggle_sidebar()

    async def action_back(self) -> None:
        if (screen := self.main_screen) is not None and self.screen is screen:
            screen.go_back()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> Sections:
        """The keys of what has focus on the current screen, and around it."""
        return describe(self, help_chain(self.screen))

    def action_report(self) -> None:
        """Open the support measures (backlog, response and resolution times, SLA)."""
        if isinstance(self.screen, ReportScreen) or self._store is None:
            return

        async def load() -> None:
            now = self.clock()
            periods = []
            try:
                for title, seconds in PERIODS:
                    rows = await self.store.conversation_timings(now - seconds)
                    periods.append(
                        (
                            title,
                            metrics.compute(
                                rows,
                                since=now - seconds,
                                now=now,
                                first_response_target=self.config.first_response_target,
                                sla_policies=self.config.sla is not None,
                            ),
                        )
                    )
            except AgentConsoleError as error:
                self.report(str(error), severity="error")
                return
            await self.push_screen(
                ReportScreen(
                    periods,
                    self.config.first_response_target is not None or self.config.sla is not None,
                    now,
                )
            )

        self.run_worker(deferred(load), group="report", exclusive=True, exit_on_error=False)


def run(
    store_path: str | Path, config: Config, runner_factory: RunnerFactory | None = None
) -> None:
    """Run the TUI until the agent quits."""
    AgentConsoleApp(store_path, config, runner_factory).run()
