"""What a run of keys repaints, and what follows once it stops: the cursor line moves at
once, the pane and the status line's position catch up when the cursor rests, a change made
elsewhere shows in the rows it changed, and keys held down never keep a change off screen."""

from __future__ import annotations

from pathlib import Path

from agentconsole.tui.widgets.queue import QueueView

from .conftest import SIZE, make_app, ready, screen_text, wait_for
from .seed import open_store, seed_many


async def test_after_a_run_of_keys_the_pane_shows_the_conversation_under_the_cursor(
    store_path: Path,
) -> None:
    await seed_many(store_path, 300)
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        queue = screen.query_one(QueueView)
        await pilot.press(*["j"] * 12, "pagedown", "k")
        under = queue.current_id
        assert under is not None and queue.cursor > 12  # the cursor went where it was sent
        await wait_for(pilot, lambda: screen.pane.conversation_id == under)
        row = queue.row(under)
        assert row is not None
        await wait_for(pilot, lambda: f"{queue.cursor + 1}/300" in screen_text(app))
        assert row.subject in screen_text(app)  # the pane's header: no stale conversation


async def test_the_cursor_line_moves_before_the_pane_follows(store_path: Path) -> None:
    await seed_many(store_path, 50)
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        queue = screen.query_one(QueueView)
        await wait_for(pilot, lambda: screen.pane.conversation_id == queue.ids[0])
        styles = queue._line_styles()
        queue.action_cursor_down()  # as a key does, without waiting for anything after it
        # the new cursor line is drawn as the cursor at once, the old one as a plain row
        assert queue.cursor == 1
        assert any(styles.cursor.bgcolor == s.style.bgcolor for s in queue.render_line(1))
        assert not any(
            s.style and s.style.bgcolor == styles.cursor.bgcolor for s in queue.render_line(0)
        )
        await wait_for(pilot, lambda: screen.pane.conversation_id == queue.ids[1])


async def test_a_change_made_elsewhere_shows_in_the_row_it_changed(store_path: Path) -> None:
    await seed_many(store_path, 40)
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.main_screen.query_one(QueueView)
        target = queue.ids[2]
        other = await open_store(store_path, "bob")
        try:
            await other.retag(target, add=["refundwatch"])
            await other.assign(target, "bob")
        finally:
            await other.close()
        subject = queue.row(target).subject  # type: ignore[union-attr]

        def line() -> str:  # the queue's line of that conversation, as the screen shows it
            return next((x for x in screen_text(app).splitlines() if subject in x), "")

        await wait_for(pilot, lambda: "#refundwatch" in line() and "bob" in line())
        assert queue.ids[2] == target


async def test_keys_held_down_never_keep_a_change_off_screen(store_path: Path) -> None:
    await seed_many(store_path, 400)
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.main_screen.query_one(QueueView)
        target = queue.ids[1]
        other = await open_store(store_path, "bob")
        try:
            await other.retag(target, add=["seenwhileholding"])
        finally:
            await other.close()
        # j and k without a pause long enough for the console to call it a rest
        for _ in range(400):
            await pilot.press("j", "k")
            row = queue.row(target)
            if row is not None and "seenwhileholding" in row.tags:
                break
        row = queue.row(target)
        assert row is not None and "seenwhileholding" in row.tags
