"""The sync runner: for each configured channel, a fetch loop and a send loop.

Each channel is held under a lease row in the store (owner, host, pid, process start time,
expiry), so on a shared server any agentconsole process — a TUI or ``agentconsole sync`` as
a service — may run it, exactly one does, and another takes over when that one exits, at
once when it died on the same host, after the expiry otherwise. A plugin that fails to
load, to start or to fetch puts its channel in an error state with the reason; the other
channels keep running.

Delivering the outbox is :mod:`.sending`'s; its problem ("sending failing: … — 10 replies waiting, next
try in 16 s") shows in the channel's health until a send succeeds (read against the outbox
and the lease whenever it is shown: :mod:`.store.send_health`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import config as config_module
from . import plugins
from .config import ChannelConfig, Config
from .errors import AgentConsoleError, StoreError, StoreFullError
from .plugin import (
    Capabilities,
    ChannelContext,
    ChannelPlugin,
    InboundMessage,
    PermanentError,
    TemporaryError,
)
from .rules.runner import RulesRunner
from .sending import ChannelSender, backoff, describe, outbound_message
from .store import Store, send_health

__all__ = ["SyncRunner", "backoff", "outbound_message"]

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 300.0
PERMANENT_ERROR_PAUSE = 300.0
OUTBOX_POLL = 1.0
#: The search index is merged (:meth:`Store.compact_search_index`) once no channel has
#: brought anything for this long: during a big sync the merge would be redone over and
#: over as the index grows.
TIDY_WHEN_QUIET = 30.0
#: Between two steps of a merge: other writers (agents' consoles) go first.
TIDY_STEP_PAUSE = 0.5


def _stop_if_cancelled() -> None:
    """Raise CancelledError if this task was asked to stop. Python 3.11's ``wait_for`` can
    swallow a cancellation that arrives as its inner call completes; a loop that went on
    would never let ``stop()`` finish."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class ChannelState:
    config: ChannelConfig
    plugin_class: type[ChannelPlugin] | None = None
    plugin: ChannelPlugin | None = None
    error: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    wake_sender: asyncio.Event = field(default_factory=asyncio.Event)
    sender: ChannelSender | None = None
    #: What the store shows now (the fetch side's state, overridden by a send problem).
    health: tuple[str, str | None] | None = None
    fetch_health: tuple[str, str | None] = ("idle", None)
    #: While the plugin reports itself overloaded, what it said.
    overload: str | None = None

    @property
    def send_problem(self) -> str | None:
        """While the channel's sends fail, why ("sending failing: …"); else None."""
        return self.sender.problem if self.sender is not None else None


class SyncRunner:
    """Runs every enabled channel of ``config`` against ``store``.

    ``plugin_classes`` overrides discovery (tests, the demo); otherwise plugins are found in
    the entry-point group and ``config.plugin_dir``.
    """

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        plugin_classes: dict[str, type[ChannelPlugin]] | None = None,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.owner = owner or default_owner()
        self._plugin_classes = plugin_classes
        self.channels: dict[str, ChannelState] = {
            name: ChannelState(channel)
            for name, channel in config.channels.items()
            if channel.enabled
        }
        self._started = False
        self._reports: set[asyncio.Task[None]] = set()
        #: Schedule rules and rule hooks (see :mod:`.rules.runner`); its clock is injectable.
        self.rules = RulesRunner(store, hook_timeout=config.hook_timeout)
        self._rules_task: asyncio.Task[None] | None = None
        self._tidy_task: asyncio.Task[None] | None = None
        #: When a fetch last stored something (``time.monotonic``).
        self._last_ingest = time.monotonic()

    # -- public -----------------------------------------------------------------------------

    def capabilities(self, channel: str) -> Capabilities | None:
        state = self.channels.get(channel)
        if state is None or state.plugin_class is None:
            return None
        return state.plugin_class.capabilities

    def nudge(self, channel: str) -> None:
        """A reply was queued on ``channel``: wake its sender now rather than at the next poll."""
        state = self.channels.get(channel)
        if state is not None:
            state.wake_sender.set()

    async def plugin(self, channel: str) -> ChannelPlugin:
        """The started plugin of one channel (for ``deliver``); raises with the reason it
        could not start."""
        await self._prepare()
        state = self.channels.get(channel)
        if state is None:
            raise AgentConsoleError(f"channel {channel!r} is not configured or not enabled")
        if state.plugin is None:
            raise AgentConsoleError(state.error or f"channel {channel!r} did not start")
        return state.plugin

    async def start(self) -> None:
        """Load the plugins and start every channel's loops in the background."""
        await self._prepare()
        for name, state in self.channels.items():
            if state.plugin is not None:
                state.tasks.append(
                    asyncio.create_task(self._hold(name, state), name=f"sync:{name}")
                )
        if self.store.rules is not None:
            self._rules_task = asyncio.create_task(self.rules.run_forever(), name="rules")
        if self.channels:
            self._tidy_task = asyncio.create_task(self._tidy_loop(), name="search index")
        self._started = True

    async def run_once(self) -> dict[str, str | None]:
        """Fetch until every channel is drained and send every due reply once, then return
        (channel → error or None; a send problem counts). Used by ``agentconsole sync
        --once`` and tests. The same loops as :meth:`start`, driven "until drained"."""
        await self._prepare()
        results: dict[str, str | None] = {}
        for name, state in self.channels.items():
            if state.plugin is None:
                results[name] = state.error
                continue
            if not await self.store.acquire_lease(name, self.owner, self.config.lease_seconds):
                results[name] = "another agentconsole process holds this channel"
                continue
            try:
                await self._fetch_loop(name, state, until_drained=True)
                await self._send_due(state)
                results[name] = state.send_problem
            except Exception as error:  # a broken channel must not stop the others
                reason = describe(error)
                await self._health(state, "error", reason)
                results[name] = reason
            finally:
                await self.store.release_lease(name, self.owner)
        if self.store.rules is not None:
            await self.rules.tick()
        # A run from cron has no quiet time to wait for: the merge, when due, is done now.
        started = False
        while await self.store.compact_search_index(started=started):
            started = True
        return results

    async def stop(self) -> None:
        for task in (self._rules_task, self._tidy_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._rules_task = self._tidy_task = None
        for state in self.channels.values():
            for task in state.tasks:
                task.cancel()
        for state in self.channels.values():
            for task in state.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            state.tasks.clear()
            if state.plugin is not None:
                with contextlib.suppress(Exception):
                    await state.plugin.close()
        for name in self.channels:
            with contextlib.suppress(Exception):
                await self.store.release_lease(name, self.owner)

    # -- loading ----------------------------------------------------------------------------

    async def _prepare(self) -> None:
        if self._started or all(
            s.plugin is not None or s.error is not None for s in self.channels.values()
        ):
            return
        classes = self._plugin_classes
        sources = {} if classes is not None else plugins.discover(self.config.plugin_dir)
        for name, state in self.channels.items():
            try:
                plugin_class = classes.get(state.config.type) if classes is not None else None
                if plugin_class is None:
                    source = sources.get(state.config.type)
                    if source is None:
                        raise config_module.unknown_type(
                            state.config, {**(classes or {}), **sources}
                        )
                    plugin_class = plugins.load(source)
                state.plugin_class = plugin_class
                options = config_module.check_channel_options(state.config, plugin_class)
                context = ChannelContext(
                    name=name,
                    options=options,
                    secret=config_module.secret_resolver(name, options),
                    logger=logging.getLogger(f"agentconsole.channel.{name}"),
                    ingest=functools.partial(self._push, name),
                    report_overload=functools.partial(self._report_overload, state),
                    # Beside the store: channel state belongs to the data it describes.
                    data_dir=str(self.store.channel_data_dir(name)),
                )
                state.plugin = plugin_class(context)
                state.sender = ChannelSender(
                    self.store,
                    state.plugin,
                    self.config.retry_max_seconds,
                    functools.partial(self._publish_health, state),
                )
                await self.store.ensure_channel(name, state.config.type, state.plugin.kind)
            except Exception as error:  # the plugin's fault: report it, keep the rest
                state.error = describe(error)
                log.error("channel %s cannot start: %s", name, state.error)
                kind = state.plugin_class.kind if state.plugin_class else "email"
                await self.store.ensure_channel(name, state.config.type, kind)
                await self.store.set_health(name, "error", state.error)

    async def _push(self, channel: str, messages: Sequence[InboundMessage]) -> None:
        """A pushed batch: committed before this returns. Raises :class:`TemporaryError`
        when the store cannot take it now (busy, or full after committing what fits: the
        sender retries and what was stored is not stored twice), :class:`PermanentError`
        for a store that cannot take it at all."""
        try:
            stored, full = await self._ingest_what_fits(channel, messages)
        except StoreError as error:
            kind = TemporaryError if error.temporary else PermanentError
            raise kind(str(error)) from error
        if full is not None:
            raise TemporaryError(f"{full}: {stored} of {len(messages)} messages stored") from full

    def _report_overload(self, state: ChannelState, detail: str | None) -> None:
        """The plugin's overload report: shown as the channel's health while it lasts."""
        if state.overload == detail:
            return
        state.overload = detail
        task = asyncio.get_running_loop().create_task(self._publish_health(state))
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    # -- loops ------------------------------------------------------------------------------

    async def _hold(self, name: str, state: ChannelState) -> None:
        """Wait for the channel's lease, run its loops while holding it, renew it.

        A store hiccup (a lock held past the busy timeout) never ends this: a renewal that
        fails is tried again at the next beat (the lease outlives two missed beats), and a
        loop that dies unexpectedly is started again.
        """
        ttl = self.config.lease_seconds
        loops = {"fetch": self._fetch_loop, "send": self._send_loop}
        while True:
            if await self._renew(name, ttl):
                workers = {
                    kind: asyncio.create_task(loop(name, state), name=f"{kind}:{name}")
                    for kind, loop in loops.items()
                }
                try:
                    while True:
                        await asyncio.wait(
                            workers.values(), timeout=ttl / 3, return_when=asyncio.FIRST_COMPLETED
                        )
                        for kind, task in list(workers.items()):
                            if task.done():
                                log.error(
                                    "channel %s: %s loop stopped (%r); restarting it",
                                    name,
                                    kind,
                                    task.exception(),
                                )
                                workers[kind] = asyncio.create_task(loops[kind](name, state))
                        renewed = await self._renew(name, ttl)
                        if renewed is False:
                            log.warning("lost the lease on channel %s", name)
                            break
                finally:
                    for task in workers.values():
                        task.cancel()
                    for task in workers.values():
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await task
            await asyncio.sleep(ttl / 3)

    async def _renew(self, name: str, ttl: float) -> bool | None:
        """Take or renew the lease: True held, False another owner has it, None unknown
        (the store could not answer this time)."""
        try:
            return await self.store.acquire_lease(name, self.owner, ttl)
        except Exception as error:
            log.warning("channel %s: lease check failed: %s", name, describe(error))
            return None

    async def _health(self, state: ChannelState, health: str, detail: str | None) -> None:
        """The fetch side's state; a send problem, while there is one, shows instead."""
        state.fetch_health = (health, detail)
        await self._publish_health(state)

    async def _publish_health(self, state: ChannelState) -> None:
        health, detail = state.fetch_health
        if state.overload is not None and health != "error":
            health, detail = "overloaded", state.overload
        if state.send_problem is not None:
            detail = (
                state.send_problem
                if health != "error"
                else f"{detail}{send_health.SEPARATOR}{state.send_problem}"
            )
            health = "error"
        if state.health == (health, detail):
            return
        try:
            await self.store.set_health(state.config.name, health, detail)
            state.health = (health, detail)
        except Exception as error:  # health is advisory: never let it stop a loop
            log.warning("channel %s: cannot record health: %s", state.config.name, error)

    async def _fetch_loop(
        self, name: str, state: ChannelState, *, until_drained: bool = False
    ) -> None:
        """The one fetch loop: fetch a batch, store it with its cursor, again at once while
        the plugin says ``more``, then wait for activity.

        Driven two ways: continuously (the default; failures are retried with backoff and
        shown in the channel's health, forever) or ``until_drained`` (returns once the plugin
        has nothing more; the first failure is raised to the caller).
        """
        plugin = state.plugin
        assert plugin is not None
        cursor: str | None = None
        loaded = False
        failures = 0
        while True:
            _stop_if_cancelled()
            try:
                if not loaded:
                    cursor = await self.store.channel_cursor(name)
                    loaded = True
                await self._health(state, "syncing", None)
                result = await asyncio.wait_for(plugin.fetch(cursor), FETCH_TIMEOUT)
                if result.messages or result.cursor != cursor:
                    await self._ingest(name, result.messages, result.cursor)
                cursor = result.cursor
                failures = 0
                await self._health(state, "connected", None)
                if result.more:
                    continue
                if until_drained:
                    return
                await plugin.wait_for_activity(plugin.poll_interval)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if until_drained:
                    raise
                if isinstance(error, PermanentError):
                    await self._health(state, "error", describe(error))
                    await asyncio.sleep(PERMANENT_ERROR_PAUSE)
                    continue
                failures += 1
                if not isinstance(error, (TemporaryError, TimeoutError, OSError, StoreError)):
                    log.exception("channel %s: fetch failed", name)
                delay = getattr(error, "retry_after", None) or backoff(
                    failures, self.config.retry_max_seconds
                )
                await self._health(state, "error", f"{describe(error)} — retrying in {delay:.0f}s")
                await asyncio.sleep(delay)

    async def _tidy_loop(self) -> None:
        """Merge the search index while the channels are quiet, a step at a time; a merge
        under way goes on after a burst of mail, once it is quiet again."""
        started = False
        while True:
            quiet_for = time.monotonic() - self._last_ingest
            if quiet_for < TIDY_WHEN_QUIET:
                await asyncio.sleep(TIDY_WHEN_QUIET - quiet_for)
                continue
            try:
                started = await self.store.compact_search_index(started=started)
            except StoreError as error:  # read-only or full: tried again later
                log.warning("search index not merged: %s", error)
                started = False
            await asyncio.sleep(TIDY_STEP_PAUSE if started else TIDY_WHEN_QUIET)

    async def _ingest(
        self, name: str, messages: Sequence[InboundMessage], cursor: str | None
    ) -> None:
        """Store a batch with its cursor. When the store is full, the batch is halved until
        what fits is committed (in order); the cursor moves only once all of it is stored, so
        the rest comes again with the next fetch (and what was stored is not stored twice).
        Raises :class:`StoreFullError` saying how much was stored."""
        if messages:
            self._last_ingest = time.monotonic()
        try:
            await self.store.ingest(name, messages, cursor)
            return
        except StoreFullError:
            if len(messages) <= 1:
                raise
        stored, full = await self._ingest_what_fits(name, messages)
        if full is not None:
            raise StoreFullError(
                f"{full}: {stored} of {len(messages)} messages of this batch stored, the rest "
                "waits on the channel; free some space"
            )
        await self.store.ingest(name, (), cursor)

    async def _ingest_what_fits(
        self, name: str, messages: Sequence[InboundMessage]
    ) -> tuple[int, StoreFullError | None]:
        """Commit the longest leading part of ``messages`` that fits, halving: how many
        were stored, and the error that stopped the rest (None when all fit)."""
        try:
            await self.store.ingest(name, messages, update_cursor=False)
            return len(messages), None
        except StoreFullError as error:
            if len(messages) == 1:
                return 0, error
        half = len(messages) // 2
        first, full = await self._ingest_what_fits(name, messages[:half])
        if full is not None:
            return first, full
        rest, full = await self._ingest_what_fits(name, messages[half:])
        return first + rest, full

    async def _send_due(self, state: ChannelState) -> None:
        assert state.sender is not None
        await state.sender.send_due()

    async def _send_loop(self, name: str, state: ChannelState) -> None:
        failures = 0
        while True:
            _stop_if_cancelled()
            state.wake_sender.clear()
            try:
                await self._send_due(state)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the store could not hand out replies this time
                failures += 1
                log.warning("channel %s: cannot read the outbox: %s", name, describe(error))
                await asyncio.sleep(backoff(failures, self.config.retry_max_seconds))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.wake_sender.wait(), OUTBOX_POLL)
