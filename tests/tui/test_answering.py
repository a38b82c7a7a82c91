"""Answering fast, driven with Pilot on a real store: send-and-next and its variants,
assign on reply (and asking first on a colleague's conversation), undo send, the agent
picker, unassign, the audit log, the contact's other conversations, the hotlist, the
Needs attention view and the queue's markers, a saved reply to marked conversations, the
footer at 80x24, the sidebar toggle and the $EDITOR template of a chat reply."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agentconsole.models import Change, View
from agentconsole.tui.screens.agent_picker import AgentPickerScreen
from agentconsole.tui.screens.audit import AuditScreen
from agentconsole.tui.screens.prompts import ChoiceScreen, ConfirmScreen

from .conftest import (
    FakeRunner,
    make_app,
    notified,
    picker_open,
    ready,
    screen_text,
    settled,
    wait_for,
)
from .seed import NOW_TS, message, open_store

SIZE = (120, 40)


async def outbox(app) -> list[tuple[int, str, float]]:
    return await app.store.run_sync(
        lambda conn: conn.execute(
            "SELECT message_id, state, next_attempt_at FROM outbox ORDER BY id"
        ).fetchall()
    )


async def answer(pilot, text: str, send: str = "ctrl+s") -> None:
    """Reply to the conversation in front with ``text`` and send it with ``send``."""
    screen = pilot.app.main_screen
    await pilot.press("r")
    await wait_for(pilot, lambda: screen.composer.is_open)
    await pilot.press(*text)
    await pilot.press(send)
    await wait_for(pilot, lambda: not screen.composer.is_open)


# -- send-and-next ------------------------------------------------------------------------


async def test_send_opens_the_next_conversation_and_assigns_the_reply_to_me(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        order = list(screen.queue.ids)
        assert order[:2] == [ids["login"], ids["refund"]]
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        started = time.time()
        await answer(pilot, "Try again now.")
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["refund"])
        await wait_for(pilot, lambda: screen.has_class("-reading") and screen.pane.thread.has_focus)
        detail = await app.store.conversation(ids["login"])
        assert detail.messages[-1].body == "Try again now."
        assert detail.row.assignee == "alice" and detail.row.status == "open"
        [(_, state, due)] = await outbox(app)
        assert state == "queued" and due >= started + 9  # the undo window, 10 s by default


@pytest.mark.parametrize(("key", "status"), [("ctrl+g", "closed"), ("ctrl+t", "pending")])
async def test_the_variant_keys_close_or_set_pending_then_open_the_next(
    seeded, key: str, status: str
) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await answer(pilot, "Done.", send=key)
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["refund"])
        assert (await app.store.conversation(ids["login"])).row.status == status
        assert ids["login"] not in screen.queue.ids  # it left the open view


async def test_after_send_stay_keeps_the_conversation(seeded) -> None:
    path, ids = seeded
    app = make_app(path, config={"compose": {"after_send": "stay", "assign_on_reply": False}})
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await answer(pilot, "Staying here.")
        await settled(pilot)
        assert screen.pane.conversation_id == ids["login"]
        assert "Staying here." in screen_text(app)
        assert (await app.store.conversation(ids["login"])).row.assignee is None


async def test_replying_to_a_colleagues_conversation_asks_first(seeded) -> None:
    path, ids = seeded
    bob = await open_store(path, agent="bob")
    await bob.assign(ids["login"], "bob")
    await bob.close()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "assigned to bob" in screen_text(app)
        await pilot.press("n")
        await settled(pilot)
        assert not screen.composer.is_open
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.composer.is_open)
        await pilot.press(*"Bob is away, I take this one.", "ctrl+s")
        await wait_for(pilot, lambda: not screen.composer.is_open)
        await settled(pilot)
        # The reply went out under alice; bob keeps the conversation (no silent take-over).
        assert (await app.store.conversation(ids["login"])).row.assignee == "bob"


# -- undo send ------------------------------------------------------------------------------


async def test_undo_takes_the_reply_back_into_the_composer_and_nothing_goes_out(seeded) -> None:
    path, ids = seeded
    runner = FakeRunner()
    app = make_app(path, runner=runner)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await answer(pilot, "Wrong customer!")
        await wait_for(pilot, lambda: "takes it back" in screen_text(app))
        assert f"reply to #{ids['login']} sends in" in screen_text(app)
        await pilot.press("u")
        await wait_for(pilot, lambda: screen.composer.is_open)
        assert screen.composer.conversation_id == ids["login"]
        assert screen.composer.body == "Wrong customer!"
        await settled(pilot)
        assert await outbox(app) == []
        detail = await app.store.conversation(ids["login"])
        assert [m.direction for m in detail.messages] == ["in"]
        assert detail.row.assignee is None and detail.row.waiting_since is not None
        assert runner.nudged == []  # nothing was ever handed to the sender
        assert "takes it back" not in screen_text(app)


class TimedRunner(FakeRunner):
    """Records when each nudge came."""

    def __init__(self) -> None:
        super().__init__()
        self.nudged_at: list[float] = []

    def nudge(self, channel_name: str) -> None:
        super().nudge(channel_name)
        self.nudged_at.append(time.monotonic())


async def test_when_the_window_ends_the_reply_is_nudged_out_at_once(seeded) -> None:
    path, ids = seeded
    runner = TimedRunner()
    app = make_app(path, runner=runner, config={"outbox": {"undo_seconds": 1}})
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        await pilot.press(*"On its way.")
        sent = time.monotonic()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: runner.nudged == ["support"])
        assert runner.nudged_at[0] - sent >= 1.0  # not before the window ended
        [(_, state, due)] = await outbox(app)
        assert state == "queued" and due <= time.time()  # due for the sender now
        await wait_for(pilot, lambda: not screen.actions.held)
        await wait_for(pilot, lambda: "takes it back" not in screen_text(app))


# -- actions --------------------------------------------------------------------------------


async def test_assign_picker_lists_known_agents_and_filters_as_you_type(seeded) -> None:
    path, ids = seeded
    other = await open_store(path, agent="bob")
    await other.add_note(ids["forum"], "bob was here")
    await other.apply([ids["chat"]], Change("assign", assignee="carla"))
    await other.close()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentPickerScreen))
        assert {"alice", "bob", "carla"} <= set(app.screen.shown)
        await pilot.press(*"car")
        await wait_for(pilot, lambda: app.screen.shown == ["carla"])
        await pilot.press("enter")
        await settled(pilot)
        assert (await app.store.conversation(ids["login"])).row.assignee == "carla"
        # A colleague's conversation: the picker offers "nobody"; D unassigns directly.
        await pilot.press("D")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmScreen) or notified(app, "unassigned")
        )
        if isinstance(app.screen, ConfirmScreen):  # held by carla: asked before taking it
            await pilot.press("y")
        await settled(pilot)
        assert (await app.store.conversation(ids["login"])).row.assignee is None


async def test_unassign_key_and_audit_screen(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await pilot.press("a")
        await wait_for(pilot, lambda: notified(app, "assigned to you"))
        await pilot.press("D")
        await wait_for(pilot, lambda: notified(app, "unassigned"))
        assert (await app.store.conversation(ids["login"])).row.assignee is None
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen))
        shown = screen_text(app)
        assert f"Audit log of #{ids['login']}" in shown
        assert "assign" in shown and "to=alice" in shown and "priority" in shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)


async def test_open_another_conversation_of_the_contact(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("j")  # refund, by Carol, who also chats
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["refund"])
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert f"#{ids['chat']}" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["chat"])
        assert screen.queue.current_id == ids["chat"]


# -- the hotlist ------------------------------------------------------------------------------


async def seed_hotlist(path: Path) -> dict[str, int]:
    """Three customers: one who answered alice's reply, two unassigned waiting (the
    older first), one assigned to bob."""
    store = await open_store(path)
    try:
        ids: dict[str, int] = {}
        for key, hours in (("old", 30), ("recent", 2), ("bobs", 40), ("answered", 5)):
            report = await store.ingest(
                "support",
                [message(f"{key}-1", f"{key} question", subject=key, address=f"{key}@x.example",
                         name=key.title(), hours_ago=hours, thread_key=f"t-{key}")],
            )  # fmt: skip
            ids[key] = report.created[0]
        await store.apply([ids["bobs"]], Change("assign", assignee="bob"))
        await store.queue_reply(ids["answered"], "Could you send a screenshot?")
        three_hours_ago = NOW_TS - 3 * 3600

        def replied_earlier(conn) -> None:
            conn.execute(
                "UPDATE messages SET sent_at = ? WHERE direction = 'out'", (three_hours_ago,)
            )
            conn.execute("UPDATE conversations SET last_message_at = ? WHERE id = ?",
                         (three_hours_ago, ids["answered"]))  # fmt: skip

        await store.run_sync(replied_earlier)
        await store.apply([ids["answered"]], Change("assign", assignee="alice"))
        await store.ingest(
            "support",
            [message("answered-2", "here it is", subject="Re: answered", thread_key="t-answered",
                     address="answered@x.example", name="Answered", hours_ago=0.1)],
        )  # fmt: skip
        return ids
    finally:
        await store.close()


async def test_next_most_urgent_goes_answered_first_then_the_longest_waiting_unassigned(
    store_path: Path,
) -> None:
    ids = await seed_hotlist(store_path)
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: "3 wait for you (!)" in screen_text(app))
        await pilot.press("exclamation_mark")
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["answered"])
        assert notified(app, "the customer answered your reply")
        await pilot.press("exclamation_mark")
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["old"])
        await pilot.press("exclamation_mark")  # the one open is skipped: back to the first
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["answered"])
        assert ids["bobs"] not in [row.id for row, _ in screen.hotlist.entries]


# -- needs attention, markers, the queue's header ---------------------------------------------


async def test_needs_attention_lists_failed_replies_and_drafts_with_their_markers(seeded) -> None:
    path, ids = seeded
    store = await open_store(path)
    await store.queue_reply(ids["refund"], "Refunded.", then_status="pending")
    [claimed] = await store.claim_due_replies("support")
    await store.mark_failed(claimed.id, "550 mailbox unavailable")
    await store.save_draft(ids["forum"], "reply", "half written")
    await store.close()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.counts.get("attention") == 2)
        screen.switch_view(View("attention"))
        await wait_for(pilot, lambda: set(screen.queue.ids) == {ids["refund"], ids["forum"]})
        await wait_for(pilot, lambda: all(screen.queue.row(i) for i in screen.queue.ids))
        lines = screen_text(app).splitlines()
        failed = next(line for line in lines if "Refund for order" in line)
        drafted = next(line for line in lines if "Export data" in line)
        assert "✗" in failed and "✎" in drafted
        assert "Channel" in screen_text(app) and "Waiting" in screen_text(app)  # header


# -- a saved reply to every marked conversation -----------------------------------------------

OUTAGE = """+++
title = "Outage: we are on it"
keywords = ["outage"]
tags = ["+outage"]
+++
Hi {customer.first_name}, we are on it.
"""


async def test_a_saved_reply_to_marked_conversations_sends_one_filled_in_reply_each(
    seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ids = seeded
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "agentconsole" / "replies"
    folder.mkdir(parents=True)
    (folder / "outage.md").write_text(OUTAGE, encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("space", "space")  # login (Dan), refund (Carol)
        assert screen.queue.marked == [ids["login"], ids["refund"]]
        await pilot.press("r")
        await wait_for(pilot, lambda: picker_open(app))
        await wait_for(pilot, lambda: "Send a saved reply to 2 conversations" in screen_text(app))
        await pilot.press(*"outage", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("c")  # close after sending
        await wait_for(pilot, lambda: notified(app, "outage sent to 2 conversations"))
        await settled(pilot)
        for key, name in (("login", "Dan"), ("refund", "Carol")):
            detail = await app.store.conversation(ids[key])
            assert detail.messages[-1].body.strip() == f"Hi {name}, we are on it."
            assert detail.row.status == "closed" and "outage" in detail.row.tags
        assert not screen.queue.marked
        assert len(await outbox(app)) == 2
        assert len(screen.actions.held) == 2  # each can still be taken back


async def bulk_reply_to_login_and_refund(pilot, tmp_path: Path, monkeypatch) -> None:
    """Mark two conversations and send them the outage reply, setting pending after."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "agentconsole" / "replies"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "outage.md").write_text(OUTAGE, encoding="utf-8")
    app = pilot.app
    await ready(pilot)
    await pilot.press("space", "space")  # login (Dan), refund (Carol)
    await pilot.press("r")
    await wait_for(pilot, lambda: picker_open(app))
    await pilot.press(*"outage", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
    await pilot.press("p")  # pending after sending
    await wait_for(pilot, lambda: notified(app, "outage sent to 2 conversations"))
    await wait_for(pilot, lambda: "2 replies send in" in screen_text(app))


async def test_undo_takes_back_every_reply_of_a_bulk_saved_reply(
    seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ids = seeded
    runner = FakeRunner()
    app = make_app(path, runner=runner)
    async with app.run_test(size=SIZE) as pilot:
        await bulk_reply_to_login_and_refund(pilot, tmp_path, monkeypatch)
        assert "u takes them back" in screen_text(app)
        await pilot.press("u")
        await wait_for(pilot, lambda: notified(app, "Took back all 2 replies"))
        assert notified(app, f"#{ids['login']}, #{ids['refund']}")
        await settled(pilot)
        assert await outbox(app) == []  # nothing goes out
        for key, name in (("login", "Dan"), ("refund", "Carol")):
            detail = await app.store.conversation(ids[key])
            assert [m.direction for m in detail.messages] == ["in"]
            assert detail.row.status == "open"
            assert await app.store.draft(ids[key], "reply") == f"Hi {name}, we are on it.\n"
        assert runner.nudged == []
        assert "takes them back" not in screen_text(app)
        assert not app.main_screen.actions.held


async def test_undo_of_a_bulk_reply_says_which_had_already_left(
    seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await bulk_reply_to_login_and_refund(pilot, tmp_path, monkeypatch)
        login = await app.store.conversation(ids["login"])
        [left] = [m.id for m in login.messages if m.direction == "out"]
        await app.store.run_sync(  # its window ended: a sender may take it now
            lambda conn: conn.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE message_id = ?",
                (time.time() - 1, left),
            )
        )
        await pilot.press("u")
        await wait_for(pilot, lambda: notified(app, "Took back 1 of 2 replies"))
        assert notified(app, f"already on their way: #{ids['login']}")
        await settled(pilot)
        assert [row[0] for row in await outbox(app)] == [left]  # that one still goes out
        refund = await app.store.conversation(ids["refund"])
        assert [m.direction for m in refund.messages] == ["in"]
        assert refund.row.status == "open"


# -- small screens, the sidebar, the chat template ---------------------------------------


async def test_at_80x24_the_footer_keeps_help_and_quit_and_the_sidebar_hides(seeded) -> None:
    path, _ = seeded
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await settled(pilot)
        footer = screen_text(app).splitlines()[-1]
        assert "? Help" in footer and "q Quit" in footer
        screen = app.main_screen
        assert screen.sidebar.display
        await pilot.press("backslash")
        await wait_for(pilot, lambda: not screen.sidebar.display)
        assert "VIEWS" not in screen_text(app)
        await pilot.press("backslash")
        await wait_for(pilot, lambda: screen.sidebar.display)


async def test_the_editor_template_of_a_chat_reply_has_no_email_quote(
    seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ids = seeded
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\ncp "$1" "{seen}"\nprintf "Hi!" > "$1"\n', encoding="utf-8")
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.setenv("VISUAL", "")
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press(*["j"] * list(screen.queue.ids).index(ids["chat"]))
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["chat"])
        await pilot.press("e")
        await wait_for(pilot, lambda: screen.composer.body == "Hi!")
        assert "wrote:" not in seen.read_text(encoding="utf-8")
        assert ">" not in seen.read_text(encoding="utf-8")
