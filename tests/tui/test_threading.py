"""Threading by hand from the keyboard: merge (m), split (x), move (ctrl+x), each undone with u,
and why each message is where it is (i)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agentconsole.tui.screens.conversation_picker import ConversationPickerScreen
from agentconsole.tui.screens.prompts import ChoiceScreen

from .conftest import SIZE, make_app, notified, ready, screen_text, settled, wait_for
from .seed import NOW_TS, clock, message, open_store, seed_basic


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def seed_long(path: Path) -> dict[str, int]:
    """The basic store plus a mail thread long enough that the pane opens on its last
    message (each answering the one before, so each joined by References)."""
    ids = await seed_basic(path)
    store = await open_store(path)
    try:
        first = await store.ingest(
            "support",
            [
                message(
                    f"long-{n}",
                    "\n".join(f"line {line} of mail {n}" for line in range(6)),
                    subject="Long thread" if n == 0 else "Re: Long thread",
                    hours_ago=0.9 - n * 0.01,
                    thread_key="long-thread",
                )
                for n in range(12)
            ],
        )
        ids["long"] = first.created[0]
        detail = await store.conversation(ids["long"])
        assert len(detail.messages) == 12
        ids["last"] = detail.messages[-1].id
    finally:
        await store.close()
    return ids


@pytest.fixture
def long_store(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "store.db"
    ids = asyncio.run(seed_long(path))
    return path, ids


async def open_conversation(pilot, conversation_id: int) -> None:
    """Move the queue's cursor onto ``conversation_id`` and wait until the pane shows it."""
    screen = pilot.app.main_screen
    for _ in range(len(screen.queue.ids)):
        if screen.queue.current_id == conversation_id:
            break
        await pilot.press("j")
    await wait_for(pilot, lambda: screen.pane.conversation_id == conversation_id)
    await settled(pilot)


async def pick(pilot, conversation_id: int) -> None:
    """In the conversation picker, type the id and take it."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConversationPickerScreen))
    await pilot.press(*f"#{conversation_id}")
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, ConversationPickerScreen))


async def test_m_merges_into_the_picked_conversation_and_u_undoes_it(long_store) -> None:
    path, ids = long_store
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_conversation(pilot, ids["refund"])
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationPickerScreen))
        # The picker lists the channel's other conversations, not this one.
        picker = app.screen
        assert ids["login"] in picker.shown and ids["refund"] not in picker.shown
        assert ids["chat"] not in picker.shown
        await pick(pilot, ids["login"])
        await wait_for(pilot, lambda: notified(app, f"merge of #{ids['refund']} into"))
        await settled(pilot)
        kept = await app.store.conversation(ids["login"])
        assert [m.body.split("\n")[0] for m in kept.messages] == [
            "I cannot log in since yesterday.",
            "Hello,",
        ]
        assert ids["refund"] not in app.main_screen.queue.ids
        assert app.main_screen.pane.conversation_id == ids["login"]
        await pilot.press("u")
        await wait_for(pilot, lambda: notified(app, "Undone: merge of"))
        await settled(pilot)
        assert len((await app.store.conversation(ids["login"])).messages) == 1
        assert (await app.store.conversation(ids["refund"])).row.id == ids["refund"]
        assert ids["refund"] in app.main_screen.queue.ids


async def test_x_splits_at_the_message_read_and_u_undoes_it(long_store) -> None:
    path, ids = long_store
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_conversation(pilot, ids["long"])
        await wait_for(pilot, lambda: app.main_screen.pane.selected_message.id == ids["last"])
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("t")  # this message and the later ones
        await wait_for(pilot, lambda: notified(app, f"split of #{ids['long']}: 1 messages"))
        await settled(pilot)
        assert len((await app.store.conversation(ids["long"])).messages) == 11
        new = app.main_screen.actions.last_undo
        assert new is not None and new.change_id is not None
        change = await app.store.threading_change(new.change_id)
        assert (await app.store.conversation(change.target_id)).messages[0].id == ids["last"]
        assert change.target_id in app.main_screen.queue.ids
        await pilot.press("u")
        await wait_for(pilot, lambda: notified(app, "Undone: split of"))
        await settled(pilot)
        assert len((await app.store.conversation(ids["long"])).messages) == 12
        assert change.target_id not in app.main_screen.queue.ids


async def test_ctrl_x_moves_the_message_read_to_the_picked_conversation(long_store) -> None:
    path, ids = long_store
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_conversation(pilot, ids["long"])
        await wait_for(pilot, lambda: app.main_screen.pane.selected_message.id == ids["last"])
        await pilot.press("ctrl+x")
        await pick(pilot, ids["refund"])
        await wait_for(pilot, lambda: notified(app, f"move of message {ids['last']}"))
        await settled(pilot)
        refund = await app.store.conversation(ids["refund"])
        assert refund.messages[-1].id == ids["last"]
        assert refund.messages[-1].thread_reason == "moved"
        await pilot.press("u")
        await wait_for(pilot, lambda: notified(app, "Undone: move of"))
        await settled(pilot)
        assert (await app.store.conversation(ids["long"])).messages[-1].id == ids["last"]


async def test_i_shows_why_each_message_is_here(long_store) -> None:
    path, ids = long_store
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_conversation(pilot, ids["long"])
        assert "joined by the channel's thread key" not in screen_text(app)
        await pilot.press("i")
        await wait_for(pilot, lambda: "joined by the channel's thread key" in screen_text(app))
        await pilot.press("i")
        await wait_for(pilot, lambda: "joined by the channel's thread key" not in screen_text(app))


async def test_split_of_a_single_message_conversation_says_why_not(long_store) -> None:
    path, ids = long_store
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_conversation(pilot, ids["refund"])
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("t")
        await wait_for(pilot, lambda: notified(app, "would leave it empty"))
        await settled(pilot)
        assert len((await app.store.conversation(ids["refund"])).messages) == 1
        assert app.main_screen.actions.last_undo is None


def test_snapshot_thread_with_threading_reasons(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"

    async def seed() -> dict[str, int]:
        ids = await seed_basic(path)
        store = await open_store(path)
        try:
            refund = ids["refund"]
            await store.add_note(refund, "Checked Stripe: charged twice.")
            split = await store.ingest(
                "support",
                [
                    message(
                        "login-2",
                        "Still locked out.",
                        name="Dan Doe",
                        address="dan@example.com",
                        thread_key="login-1",
                        hours_ago=2,
                    )
                ],
            )
            await store.move_message(
                (await store.conversation(split.touched[0])).messages[-1].id, refund
            )

            def pin_times(conn) -> None:
                conn.execute(
                    "UPDATE messages SET sent_at = ?, created_at = ? WHERE direction = 'note'",
                    (NOW_TS - 7200, NOW_TS - 7200),
                )
                conn.execute("UPDATE conversations SET updated_at = ?", (NOW_TS - 3600,))

            await store.run_sync(pin_times)
        finally:
            await store.close()
        return ids

    ids = asyncio.run(seed())
    app = make_app(path, clock=clock)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await open_conversation(pilot, ids["refund"])
        await pilot.press("i")
        await wait_for(pilot, lambda: "moved here from" in screen_text(app))
        await settled(pilot)
        app.clear_notifications()
        app.main_screen.pane.thread.scroll_home(animate=False)
        await wait_for(pilot, lambda: "first message of this conversation" in screen_text(app))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
