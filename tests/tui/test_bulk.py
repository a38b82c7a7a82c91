"""Many at once in the console: marking, bulk actions through Store.apply, their
confirmation and undo; the queue's cursor under the agent's own actions."""

from __future__ import annotations

from agentconsole.models import View
from agentconsole.tui.screens.agent_picker import AgentPickerScreen
from agentconsole.tui.screens.prompts import ConfirmScreen

from .conftest import SIZE, make_app, notified, ready, screen_text, settled, wait_for
from .seed import open_store, seed_many


async def states(app, ids) -> dict[int, tuple[str, str | None, int, tuple[str, ...]]]:
    rows = await app.main_screen.services.store.conversation_rows(ids)
    return {i: (r.status, r.assignee, r.priority, r.tags) for i, r in rows.items()}


def status_line(app) -> str:
    return str(app.main_screen.query_one("#status-line").render())


async def test_space_marks_and_moves_down_star_marks_all_escape_clears(seeded) -> None:
    path, _ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.main_screen.queue
        first, second = queue.ids[0], queue.ids[1]
        await pilot.press("space")
        assert queue.marked == [first]
        assert queue.cursor == 1  # moved down
        await pilot.press("space")
        assert queue.marked == [first, second]
        await wait_for(pilot, lambda: "2 marked" in status_line(app))
        await pilot.press("k", "space")  # the second again: unmarked
        assert queue.marked == [first]
        await pilot.press("asterisk")
        assert queue.marked == list(queue.ids)
        await wait_for(pilot, lambda: f"{len(queue.ids)} marked" in status_line(app))
        await pilot.press("escape")
        assert queue.marked == []
        await wait_for(pilot, lambda: "marked" not in status_line(app))


async def test_close_applies_to_the_marked_rows_and_u_undoes_it(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        marked = list(screen.queue.ids[:2])
        unmarked = list(screen.queue.ids[2:])
        await pilot.press("space", "space", "c")
        await wait_for(pilot, lambda: screen.counts.get("closed") == 2)
        assert {s[0] for s in (await states(app, marked)).values()} == {"closed"}
        assert {s[0] for s in (await states(app, unmarked)).values()} == {"open"}
        assert notified(app, "2 closed")
        assert screen.queue.marked == []  # done with them
        await wait_for(pilot, lambda: "u undoes close of 2" in status_line(app))
        await pilot.press("u")
        await wait_for(pilot, lambda: screen.counts.get("closed") == 0)
        assert {s[0] for s in (await states(app, marked)).values()} == {"open"}
        entries = await screen.services.store.audit_log(marked[0])
        assert [e.action for e in entries[:2]] == ["undo", "status"]  # newest first
        await pilot.press("u")
        await wait_for(pilot, lambda: notified(app, "Nothing to undo"))


async def test_every_action_applies_to_the_marked_and_undoes(seeded) -> None:
    path, _ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        marked = list(screen.queue.ids[:2])
        before = await states(app, marked)

        async def act(*keys: str, check) -> None:
            await pilot.press("g", "space", "space", *keys)
            await settled(pilot)
            after = await states(app, marked)
            assert all(check(after[i]) for i in marked), (keys, after)
            await pilot.press("u")  # wherever the change put them
            await settled(pilot)
            assert await states(app, marked) == before, keys
            assert list(screen.queue.ids[:2]) == marked  # back in their places

        await act("P", check=lambda s: s[0] == "pending")
        await act("a", check=lambda s: s[1] == "alice")
        await act("A", *"bob", "enter", check=lambda s: s[1] == "bob")
        await act("t", *"+vip -billing", "enter", check=lambda s: "vip" in s[3])
        await act("p", "l", check=lambda s: s[2] == 3)
        await act("s", *"in 2h", "enter", check=lambda s: s[0] == "snoozed")
        await act("c", check=lambda s: s[0] == "closed")


async def test_unassign_and_reopen_many(seeded) -> None:
    path, ids = seeded
    store = await open_store(path)
    for name in ("login", "refund"):
        await store.assign(ids[name], "alice")
        await store.set_status(ids[name], "closed")
    await store.close()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        screen.switch_view(View("closed"))
        closed = {ids["login"], ids["refund"]}
        await wait_for(pilot, lambda: set(screen.queue.ids) == closed)
        await pilot.press("asterisk", "A")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentPickerScreen))
        await pilot.press(*"none", "enter")  # the picker takes "none" as nobody, too
        await settled(pilot)
        assert {s[1] for s in (await states(app, [ids["login"], ids["refund"]])).values()} == {None}
        await pilot.press("asterisk", "o")
        await wait_for(pilot, lambda: screen.counts.get("closed") == 0)
        assert notified(app, "2 reopened")


async def test_more_than_ten_asks_first_and_says_what_did_not_change(store_path) -> None:
    await seed_many(store_path, 14)
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("asterisk", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "close 14 conversations?" in screen_text(app)
        await pilot.press("n")
        await settled(pilot)
        assert screen.counts.get("closed") == 0
        assert len(screen.queue.marked) == 14  # still marked: nothing happened
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        # another agent closes three of them while the question is on screen
        other = await open_store(store_path, agent="bob")
        for conversation_id in screen.queue.ids[:3]:
            await other.set_status(conversation_id, "closed")
        await other.close()
        await pilot.press("y")
        await wait_for(pilot, lambda: notified(app, "11 closed, 3 already closed"))
        await wait_for(pilot, lambda: screen.counts.get("closed") == 14)
        await pilot.press("u")  # undoes only what this agent changed
        await wait_for(pilot, lambda: screen.counts.get("closed") == 3)


async def test_an_action_that_removes_the_row_shows_the_next_and_says_so(seeded) -> None:
    path, _ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        screen.switch_view(View("unassigned"))
        await settled(pilot)
        first, second = screen.queue.ids[0], screen.queue.ids[1]
        await wait_for(pilot, lambda: screen.pane.conversation_id == first)
        await pilot.press("a")
        await wait_for(pilot, lambda: first not in screen.queue.ids)
        assert screen.queue.cursor == 0
        assert screen.queue.current_id == second
        await wait_for(pilot, lambda: screen.pane.conversation_id == second)
        notice = f"#{first} left this view — this is #{second}"
        await wait_for(pilot, lambda: notice in screen_text(app))
        await pilot.press("r")  # answers the customer shown, the one under the cursor
        await wait_for(pilot, lambda: screen.composer.is_open)
        assert screen.composer.conversation_id == second == screen.pane.conversation_id
        await pilot.press("escape")
        await pilot.press("j")  # the agent moves on: the notice has done its job
        await wait_for(pilot, lambda: screen.pane.conversation_id == screen.queue.ids[1])
        assert "left this view" not in screen_text(app)


async def test_reopening_an_open_conversation_says_so_and_writes_nothing(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        current = screen.queue.current_id
        entries = await screen.services.store.audit_log(current)
        await pilot.press("o")
        await wait_for(pilot, lambda: notified(app, f"#{current}: already open"))
        await settled(pilot)
        assert await screen.services.store.audit_log(current) == entries
        assert "undoes" not in status_line(app)


async def test_acting_on_marked_rows_elsewhere_leaves_the_cursor_on_its_conversation(
    seeded,
) -> None:
    path, _ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("space", "space")  # the first two marked, the cursor on the third
        mine = screen.queue.current_id
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.counts.get("closed") == 2)
        await settled(pilot)
        assert screen.queue.current_id == mine
        assert screen.queue.cursor == 0
