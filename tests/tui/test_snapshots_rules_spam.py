"""Snapshots of the rules screen with a replay shown (80x24 and 160x45) and of the Spam
view listed in the sidebar once a conversation is marked spam. Same deterministic store as
``test_snapshots``."""

from __future__ import annotations

from pathlib import Path

from agentconsole.models import View
from agentconsole.tui.screens.rules import RulesScreen

from .conftest import screen_text
from .test_rules_screen import RULES
from .test_snapshots import snapshot, thread_store  # noqa: F401 - fixtures

SMALL, LARGE = (80, 24), (160, 45)


def replayed(snap_compare, path: Path, size: tuple[int, int]) -> bool:
    return snapshot(
        snap_compare,
        path,
        "W",
        "enter",
        until=lambda app: isinstance(app.screen, RulesScreen) and app.screen.replayed is not None,
        size=size,
        config=RULES,
    )


def test_snapshot_rules_replay_80x24(thread_store: Path, snap_compare) -> None:  # noqa: F811
    assert replayed(snap_compare, thread_store, SMALL)


def test_snapshot_rules_replay_160x45(thread_store: Path, snap_compare) -> None:  # noqa: F811
    assert replayed(snap_compare, thread_store, LARGE)


def test_snapshot_spam_view(thread_store: Path, snap_compare) -> None:  # noqa: F811
    async def to_spam(app, pilot) -> None:
        await app.store.set_spam([app.main_screen.queue.ids[0]])
        app.main_screen.switch_view(View("spam"))

    assert snapshot(
        snap_compare,
        thread_store,
        before=to_spam,
        until=lambda app: (
            app.main_screen.view == View("spam")
            and len(app.main_screen.queue.ids) == 1
            and "I cannot log in since yesterday." in screen_text(app)  # the thread shown
        ),
    )
