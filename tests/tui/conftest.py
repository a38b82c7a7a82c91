"""Helpers for driving the real TUI with Pilot on a temp store."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from agentconsole.plugin import Capabilities
from agentconsole.tui.app import AgentConsoleApp

from . import pilot_wait
from .seed import make_config, seed_basic

pilot_wait.install()

SIZE = (120, 40)


class FakeRunner:
    """Stands in for the sync runner: records nudges, reports chosen capabilities."""

    def __init__(self, capabilities: dict[str, Capabilities] | None = None) -> None:
        self.started = False
        self.stopped = False
        self.nudged: list[str] = []
        self._capabilities = capabilities or {}

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def nudge(self, channel_name: str) -> None:
        self.nudged.append(channel_name)

    def capabilities(self, channel_name: str) -> Capabilities | None:
        return self._capabilities.get(channel_name)


def make_app(
    path: Path,
    *,
    agent: str = "alice",
    keys: dict[str, str] | None = None,
    runner: FakeRunner | None = None,
    clock: Callable[[], float] = time.time,
    config: dict[str, object] | None = None,
) -> AgentConsoleApp:
    """The real app on ``path``; ``config`` adds config tables (``{"outbox": {...}}``)."""
    return AgentConsoleApp(
        path,
        make_config(agent, keys, config),
        (lambda store: runner) if runner is not None else None,
        clock=clock,
        poll_interval=0.2,
    )


async def wait_for(
    pilot: Pilot[object], predicate: Callable[[], object], timeout: float = 10.0
) -> None:
    """Let the app run until ``predicate()`` is true (fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # noqa: S110 - widgets may not exist yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        await pilot.pause(0.05)


async def settled(pilot: Pilot[object]) -> None:
    """Wait until everything the keys pressed so far started has finished, then for one
    whole reload of the main screen: whatever they changed is in the store and on screen.
    What a test asserts did *not* happen is checked after this, never after a sleep."""
    from textual.worker import WorkerCancelled, WorkerFailed

    app = pilot.app
    await pilot.pause()
    for worker in list(app.workers):
        if worker.group == "watch":  # the store's change watch never ends (PostgreSQL)
            continue
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await worker.wait()
    screen = app.main_screen  # type: ignore[attr-defined]
    before = screen.refreshes
    screen.reload()
    await wait_for(pilot, lambda: screen.refreshes > before)


def notified(app: AgentConsoleApp, text: str) -> bool:
    """Whether a notification containing ``text`` was shown."""
    return any(text in str(notification.message) for notification in app._notifications)


def picker_open(app: AgentConsoleApp) -> bool:
    """Whether the saved-reply picker is shown."""
    from agentconsole.tui.widgets.reply_picker import ReplyPicker

    main = app.main_screen
    return main is not None and main.query_one(ReplyPicker).is_open


def screen_text(app: AgentConsoleApp) -> str:
    """What the terminal shows, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def ready(pilot: Pilot[object]) -> None:
    """Wait until the queue has its rows on screen."""
    app = pilot.app
    await wait_for(
        pilot,
        lambda: (
            app.main_screen is not None  # type: ignore[attr-defined]
            and app.main_screen.queue.ids
            and all(app.main_screen.queue.row(i) for i in app.main_screen.queue.ids[:3])
            and app.main_screen.refreshes >= 1
        ),
    )


@pytest.fixture
def store_path(store_location: str | Path) -> str | Path:
    """The console's store: a SQLite file, or with ``--store=postgresql`` a fresh database
    (every console test runs on both backends)."""
    return store_location


@pytest.fixture
async def seeded(store_path: Path) -> tuple[Path, dict[str, int]]:
    ids = await seed_basic(store_path)
    return store_path, ids


__all__ = [
    "FakeRunner",
    "SIZE",
    "make_app",
    "notified",
    "picker_open",
    "ready",
    "screen_text",
    "settled",
    "wait_for",
    "asyncio",
]
