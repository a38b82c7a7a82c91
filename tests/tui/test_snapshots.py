"""Snapshots of the main screens on a deterministic store (fixed clock, UTC).

Review the SVGs in ``__snapshots__/`` after ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from .conftest import make_app, ready, wait_for
from .seed import NOW_TS, clock, open_store, seed_basic

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def seed_thread(path: Path) -> dict[str, int]:
    """The basic store plus, on the refund conversation, a note and a failed reply, all at
    fixed times."""
    ids = await seed_basic(path)
    store = await open_store(path)
    try:
        conversation_id = ids["refund"]
        await store.add_note(conversation_id, "Checked Stripe: charged twice. Refund one.")
        await store.queue_reply(conversation_id, "Sorry about that, the refund is on its way.")
        claimed = await store.claim_due_replies("support")
        await store.mark_failed(claimed[0].id, "550 5.1.1 mailbox unavailable")

        def pin_times(conn) -> None:
            conn.execute(
                "UPDATE messages SET sent_at = ?, created_at = ? WHERE direction = 'note'",
                (NOW_TS - 7200, NOW_TS - 7200),
            )
            conn.execute(
                "UPDATE messages SET sent_at = ?, created_at = ? WHERE direction = 'out'",
                (NOW_TS - 3600, NOW_TS - 3600),
            )
            conn.execute(
                "UPDATE conversations SET last_message_at = ?, first_response_at = ?,"
                " updated_at = ? WHERE id = ?",
                (NOW_TS - 3600, NOW_TS - 3600, NOW_TS - 3600, conversation_id),
            )

        await store.run_sync(pin_times)
    finally:
        await store.close()
    return ids


def test_snapshot_queue_with_sidebar(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"
    asyncio.run(seed_thread(path))
    app = make_app(path, clock=clock)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await wait_for(pilot, lambda: app.main_screen.pane.detail is not None)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_conversation_with_note_and_failed_reply(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"
    ids = asyncio.run(seed_thread(path))
    app = make_app(path, clock=clock)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: app.main_screen.pane.conversation_id == ids["refund"])
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_help(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"
    asyncio.run(seed_thread(path))
    app = make_app(path, clock=clock)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
