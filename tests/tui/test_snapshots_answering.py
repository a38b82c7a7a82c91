"""Snapshots of what answering fast shows: the queue (its header line, markers, the footer
keeping help and quit) and the composer at 80x24 and 160x45, the Needs attention view,
the agent picker and the audit log. Same deterministic store as ``test_snapshots``."""

from __future__ import annotations

from pathlib import Path

from agentconsole.models import View
from agentconsole.tui.screens.agent_picker import AgentPickerScreen
from agentconsole.tui.screens.audit import AuditScreen

from .conftest import screen_text
from .seed import NOW_TS
from .test_snapshots import snapshot, thread_store, utc  # noqa: F401 - fixtures

SMALL, LARGE = (80, 24), (160, 45)


def test_snapshot_queue_80x24(thread_store: Path, snap_compare) -> None:  # noqa: F811
    assert snapshot(snap_compare, thread_store, size=SMALL)


def test_snapshot_queue_160x45(thread_store: Path, snap_compare) -> None:  # noqa: F811
    assert snapshot(snap_compare, thread_store, size=LARGE)


def composer(snap_compare, path: Path, size: tuple[int, int]) -> bool:
    return snapshot(
        snap_compare,
        path,
        "j",
        "r",
        *"We have refunded the second charge.",
        until=lambda app: "second charge." in screen_text(app),
        size=size,
    )


def test_snapshot_composer_80x24(thread_store: Path, snap_compare) -> None:  # noqa: F811
    assert composer(snap_compare, thread_store, SMALL)


def test_snapshot_composer_160x45(thread_store: Path, snap_compare) -> None:  # noqa: F811
    assert composer(snap_compare, thread_store, LARGE)


OUTAGE = """+++
title = "Outage: we are on it"
keywords = ["outage"]
tags = ["+outage", "-billing"]
status = "pending"
+++
Hi {customer.first_name},

we know card payments are failing and are on it.
"""


def composer_with_a_saved_reply(snap_compare, path: Path, size: tuple[int, int]) -> bool:
    """The composer after a saved reply with tags and a status went in: its "on send"
    line must show at either size (at 80x24 it was the first line cut off)."""
    folder = path.parent / "replies"
    folder.mkdir()
    (folder / "outage.md").write_text(OUTAGE, encoding="utf-8")
    return snapshot(
        snap_compare,
        path,
        "j",
        "r",
        "ctrl+r",
        *"outage",
        "enter",
        until=lambda app: (
            "card payments are failing" in app.main_screen.composer.body
            and "on send: +outage, -billing, pending" in screen_text(app)
        ),
        size=size,
        config={"replies": {"dirs": [str(folder)]}},
    )


def test_snapshot_composer_with_a_saved_reply_80x24(
    thread_store: Path,  # noqa: F811
    snap_compare,
) -> None:
    assert composer_with_a_saved_reply(snap_compare, thread_store, SMALL)


def test_snapshot_composer_with_a_saved_reply_160x45(
    thread_store: Path,  # noqa: F811
    snap_compare,
) -> None:
    assert composer_with_a_saved_reply(snap_compare, thread_store, LARGE)


def test_snapshot_needs_attention_with_a_failed_reply(
    thread_store: Path,  # noqa: F811
    snap_compare,
) -> None:
    async def attention(app, pilot) -> None:
        app.main_screen.switch_view(View("attention"))

    assert snapshot(
        snap_compare,
        thread_store,
        before=attention,
        until=lambda app: (
            app.main_screen.view == View("attention")
            and len(app.main_screen.queue.ids) == 1
            and "Sorry about that, the refund is on its way." in screen_text(app)
            and "Other conversations (1)" in screen_text(app)
        ),
    )


def test_snapshot_agent_picker(thread_store: Path, snap_compare) -> None:  # noqa: F811
    assert snapshot(
        snap_compare, thread_store, "A", until=lambda app: isinstance(app.screen, AgentPickerScreen)
    )


def test_snapshot_audit_log(thread_store: Path, snap_compare) -> None:  # noqa: F811
    async def pin_times(app, pilot) -> None:
        await app.store.run_sync(
            lambda conn: conn.execute("UPDATE audit_log SET at = ? + id * 60", (NOW_TS - 7200,))
        )

    assert snapshot(
        snap_compare,
        thread_store,
        "j",
        "l",
        before=pin_times,
        until=lambda app: isinstance(app.screen, AuditScreen),
    )
