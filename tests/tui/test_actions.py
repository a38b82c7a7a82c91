"""Agent actions from the keyboard: reply, note, assign, snooze, close, tag, priority…"""

from __future__ import annotations

import re
import time

from textual.widgets import Input

from agentconsole.models import View
from agentconsole.plugin import Capabilities
from agentconsole.tui.screens.help import HelpScreen
from agentconsole.tui.screens.prompts import ChoiceScreen, ConfirmScreen, PromptScreen
from agentconsole.tui.widgets.message_box import MessageBox

from .conftest import SIZE, FakeRunner, make_app, notified, ready, screen_text, settled, wait_for
from .seed import open_store


async def detail_of(app, conversation_id):
    return await app.store.conversation(conversation_id)


async def outbox_states(app) -> list[tuple[int, str]]:
    return await app.store.run_sync(
        lambda conn: conn.execute("SELECT message_id, state FROM outbox ORDER BY id").fetchall()
    )


#: The console as it was before send-and-next and undo send: it stays, and sends at once.
STAY_AND_SEND_AT_ONCE = {"compose": {"after_send": "stay"}, "outbox": {"undo_seconds": 0}}


async def test_without_an_undo_window_a_reply_is_queued_shown_and_sent_at_once(seeded) -> None:
    path, ids = seeded
    runner = FakeRunner()
    app = make_app(path, runner=runner, config=STAY_AND_SEND_AT_ONCE)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        assert runner.started
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        assert screen.composer.text_area.has_focus
        await pilot.press(*"Try resetting your password.")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not screen.composer.is_open)
        await wait_for(pilot, lambda: "queued" in screen_text(app))
        assert "Try resetting your password." in screen_text(app)
        assert runner.nudged == ["support"]
        states = await outbox_states(app)
        assert len(states) == 1 and states[0][1] == "queued"
        detail = await detail_of(app, ids["login"])
        assert detail.messages[-1].direction == "out"
        assert detail.messages[-1].body == "Try resetting your password."
    assert runner.stopped


async def test_note_is_added_and_styled_apart(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.composer.is_open)
        assert screen.composer.has_class("-note")
        await pilot.press(*"Customer is on the legacy plan")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: any(b.has_class("-note") for b in screen.pane.query(MessageBox))
        )
        note = next(b for b in screen.pane.query(MessageBox) if b.has_class("-note"))
        assert note.border_title == "Internal note"
        assert "Customer is on the legacy plan" in screen_text(app)
        assert "Internal note" in screen_text(app)
        assert await outbox_states(app) == []  # a note is never sent


async def test_empty_reply_is_refused_with_a_notification(seeded) -> None:
    path, _ = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.main_screen.composer.is_open)
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: any("empty reply" in str(n.message) for n in app._notifications)
        )
        assert app.main_screen.composer.is_open


async def test_assign_to_me_moves_it_to_mine(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("j")  # refund
        await pilot.press("a")
        await wait_for(pilot, lambda: screen.counts.get("mine") == 1)
        await pilot.press("K", "K")  # previous views: Unassigned, then Mine
        await wait_for(
            pilot, lambda: screen.view == View("mine") and list(screen.queue.ids) == [ids["refund"]]
        )
        assert (await detail_of(app, ids["refund"])).row.assignee == "alice"


async def test_assign_owned_by_someone_else_asks_before_taking_over(seeded) -> None:
    path, ids = seeded
    other = await open_store(path, agent="bob")
    await other.assign(ids["login"], "bob")
    await other.close()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "assigned to bob" in screen_text(app)
        await pilot.press("n")
        await settled(pilot)
        assert (await detail_of(app, ids["login"])).row.assignee == "bob"
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.main_screen.counts.get("mine") == 1)
        assert (await detail_of(app, ids["login"])).row.assignee == "alice"


async def test_snooze_in_2h_moves_it_to_snoozed(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"yesterday-ish")
        await pilot.press("enter")
        # not accepted: the error is shown inline and the question stays
        await wait_for(pilot, lambda: app.screen.query_one("#prompt-feedback").has_class("-error"))
        assert isinstance(app.screen, PromptScreen)
        prompt = app.screen
        prompt.query_one("Input").value = ""
        await pilot.press(*"in 2h")
        await wait_for(pilot, lambda: "→" in screen_text(app))  # the preview of when it wakes
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.counts.get("snoozed") == 1)
        row = (await detail_of(app, ids["login"])).row
        assert row.status == "snoozed"
        assert abs(row.snooze_until - (time.time() + 7200)) < 120
        assert ids["login"] not in screen.queue.ids


async def test_close_and_reopen(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.counts.get("closed") == 1)
        assert ids["login"] not in screen.queue.ids
        # the cursor stays in place: the next conversation is under it
        assert screen.queue.current_id == ids["refund"]
        screen.switch_view(View("closed"))
        await wait_for(pilot, lambda: list(screen.queue.ids) == [ids["login"]])
        await pilot.press("o")
        await wait_for(pilot, lambda: screen.counts.get("closed") == 0)
        assert (await detail_of(app, ids["login"])).row.status == "open"


async def test_tag_adds_and_removes(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("j", "t")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"+vip -billing")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "tag:vip" in app.main_screen.counts)
        assert (await detail_of(app, ids["refund"])).row.tags == ("vip",)
        assert "tag:billing" not in app.main_screen.counts


async def test_priority_choice(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("G")  # the chat, normal priority, last
        assert screen.queue.current_id == ids["chat"]
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["chat"])  # read it
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("u")
        # urgent now: right after the other urgent one, which has waited longer
        await wait_for(pilot, lambda: list(screen.queue.ids[:2]) == [ids["login"], ids["chat"]])
        assert (await detail_of(app, ids["chat"])).row.priority == 0
        # the cursor stays at its place in the list (the next piece of work), not with the
        # moved row, and the pane says the conversation shown is another one now
        last = len(screen.queue.ids) - 1
        assert screen.queue.cursor == last
        await wait_for(pilot, lambda: screen.pane.conversation_id == screen.queue.ids[last])
        await wait_for(pilot, lambda: f"#{ids['chat']} moved" in screen_text(app))


async def test_failed_reply_shows_reason_and_R_retries(seeded) -> None:
    path, ids = seeded
    store = await open_store(path)
    message_id = await store.queue_reply(ids["login"], "We are on it.")
    claimed = await store.claim_due_replies("support")
    await store.mark_failed(claimed[0].id, "550 mailbox unavailable")
    await store.close()
    runner = FakeRunner()
    app = make_app(path, runner=runner)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: "550 mailbox unavailable" in screen_text(app))
        assert screen.pane.conversation_id == ids["login"] and "failed" in screen_text(app)
        assert any(b.has_class("-failed") for b in screen.pane.query(MessageBox))
        # R acts on the conversation under the cursor: wait until the queue has put it there.
        await wait_for(pilot, lambda: screen.actions.target_id == ids["login"])
        await pilot.press("R")
        await wait_for(pilot, lambda: "◷ queued" in screen_text(app))
        assert (message_id, "queued") in await outbox_states(app)
        assert runner.nudged == ["support"]


async def test_read_only_channel_has_no_reply_box(seeded) -> None:
    path, ids = seeded
    runner = FakeRunner({"community": Capabilities(reply=False, read_only=True)})
    app = make_app(path, runner=runner)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("j", "j")
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["forum"])
        await pilot.press("r")
        await wait_for(pilot, lambda: notified(app, "This channel is read-only"))
        assert not screen.composer.is_open
        text = screen_text(app)
        assert "read-only" in text and "https://forum.example.com/t/export/1" in text
        await pilot.press("n")  # notes are still possible
        await wait_for(pilot, lambda: screen.composer.is_open)


async def test_search_narrows_the_queue_and_escape_returns(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("slash")
        await pilot.press(*"invoice")
        await wait_for(pilot, lambda: list(screen.queue.ids) == [ids["chat"]])
        assert screen.view == View("search", "invoice")
        await pilot.press("enter")
        assert screen.queue.has_focus
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.view == View("open") and len(screen.queue.ids) == 4)


async def test_draft_survives_closing_the_conversation_and_a_restart(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        await pilot.press(*"Half-written answer")
        await pilot.press("escape")  # leave the composer: the draft is kept
        assert not screen.composer.is_open
        await pilot.press("escape", "j", "k", "r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        assert screen.composer.body == "Half-written answer"
        await pilot.press(*" and more")
        await pilot.press("ctrl+q")  # quit while typing
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        assert screen.composer.body == "Half-written answer and more"
        assert screen.composer.conversation_id == ids["login"]


async def test_live_arrival_from_another_process_appears_without_a_key(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        other = await open_store(path, agent="sync")
        from .seed import message

        report = await other.ingest(
            "support",
            [
                message(
                    "live-1",
                    "Is this thing on?",
                    subject="Brand new question",
                    name="Fay Fresh",
                    address="fay@example.com",
                    hours_ago=100,
                )
            ],
        )
        await other.close()
        new_id = report.created[0]
        started = time.monotonic()
        await wait_for(pilot, lambda: new_id in screen.queue.ids, timeout=2.0)
        assert time.monotonic() - started < 1.5
        await wait_for(pilot, lambda: "Brand new question" in screen_text(app))
        # The counts come in the same reload, after the rows (read once they are shown).
        await wait_for(pilot, lambda: screen.counts["open"] == 5)


async def test_a_remapped_key_works_and_the_old_one_does_not(seeded) -> None:
    path, ids = seeded
    app = make_app(path, keys={"close": "x", "cursor_down": "ctrl+n,down"})
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("c")
        await settled(pilot)
        assert screen.counts.get("closed") == 0
        await pilot.press("j")
        assert screen.queue.cursor == 0
        await pilot.press("ctrl+n")
        assert screen.queue.cursor == 1
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.counts.get("closed") == 1)
        assert (await detail_of(app, ids["refund"])).row.status == "closed"
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        shown = screen_text(app)
        assert re.search(r"\bx +Close\b", shown)
        assert not re.search(r"\bc +Close\b", shown)
        assert re.search(r"\^n ↓ +Next conversation", shown)


async def test_help_lists_the_keys_of_the_focused_widget_and_around_it(seeded) -> None:
    from agentconsole.keymap import ACTIONS

    path, _ = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        assert screen.queue.has_focus
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        sections = dict(help_sections_of(app))
        assert list(sections) == ["Queue", "Conversation", "Everywhere"]
        for scope, title in (("queue", "Queue"), ("conversation", "Conversation")):
            described = {text for _, text in sections[title]}
            assert {a.description for a in ACTIONS if a.scope == scope} <= described
        assert ("?", "Help") in sections["Everywhere"]
        assert "Send" not in {text for rows in sections.values() for _, text in rows}
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        # In the composer, its own keys come first.
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.text_area.has_focus)
        # ? types a question mark there; the palette opens help, as the help screen says.
        await pilot.press("ctrl+p", *"Help")
        await wait_for(pilot, lambda: palette_shows(app, "Help"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        sections = dict(help_sections_of(app))
        assert list(sections)[0] == "Composer"
        assert {"Send", "Attach a file", "Back"} <= {text for _, text in sections["Composer"]}
        assert "Conversation" in sections and "Everywhere" in sections


def help_sections_of(app) -> list[tuple[str, list[tuple[str, str]]]]:
    assert isinstance(app.screen, HelpScreen)
    return app.screen.sections


async def test_command_palette_runs_actions_and_goes_to_views(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("ctrl+p")
        await pilot.press(*"view: pending")
        await wait_for(pilot, lambda: palette_shows(app, "Go to view: Pending"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.view == View("pending"))
        screen.switch_view(View("open"))
        await wait_for(pilot, lambda: len(screen.queue.ids) == 4)
        await pilot.press("ctrl+p")
        await pilot.press(*"close")
        await wait_for(pilot, lambda: palette_shows(app, "Close"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.counts.get("closed") == 1)
        assert (await detail_of(app, ids["login"])).row.status == "closed"


def palette_shows(app, label: str) -> bool:
    """Whether the command palette's first (highlighted) match is ``label``."""
    from textual.command import CommandList

    options = app.screen.query_one(CommandList)
    if options.option_count == 0:
        return False
    return str(options.get_option_at_index(0).prompt).split("\n")[0] == label


async def test_a_reply_carries_an_attached_file_where_the_channel_allows(seeded, tmp_path) -> None:
    path, ids = seeded
    invoice = tmp_path / "refund.pdf"
    invoice.write_bytes(b"%PDF-1.4 refund")
    runner = FakeRunner({"support": Capabilities(reply=True, attachments=True)})
    app = make_app(path, runner=runner)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        await pilot.press(*"Refund attached.")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: app.screen.query_one(Input) is not None)
        app.screen.query_one(Input).value = str(invoice)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.composer.attachments)
        assert "refund.pdf" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not screen.composer.is_open)
        detail = await detail_of(app, ids["login"])
        assert [a.filename for a in detail.messages[-1].attachments] == ["refund.pdf"]


async def test_attaching_is_refused_on_a_channel_without_attachments(seeded) -> None:
    path, ids = seeded
    runner = FakeRunner({"support": Capabilities(reply=True, attachments=False)})
    app = make_app(path, runner=runner)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        await pilot.press("ctrl+o")
        await wait_for(
            pilot, lambda: any("cannot send attachments" in n.message for n in app._notifications)
        )
        assert screen.composer.is_open and not screen.composer.attachments


async def test_linking_two_contacts_by_hand_and_undoing_it(store_path) -> None:
    from agentconsole.plugin import Author, Identity, InboundMessage

    from .seed import NOW

    store = await open_store(store_path)
    await store.ensure_channel("chat", "demo", "chat")
    await store.ingest(
        "support",
        [
            InboundMessage(
                "mail-1",
                Author("Ada Lovelace", (Identity("email", "ada@example.com"),)),
                "Invoice question",
                NOW,
                subject="Invoice question",
                thread_key="mail-1",
            )
        ],
    )
    report = await store.ingest(
        "chat",
        [
            InboundMessage(
                "chat-1",
                Author("countess", (Identity("demo-chat", "countess"),)),
                "hi, same invoice question",
                NOW,
                thread_key="room-1",
            )
        ],
    )
    chat_conversation = report.created[0]
    await store.close()
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        screen.queue.cursor = screen.queue.ids.index(chat_conversation)
        await wait_for(pilot, lambda: screen.pane.conversation_id == chat_conversation)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = "ADA@example.com"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                "Invoice question" in screen_text(app)
                and "ada@example.com" in screen_text(app)
                and len(screen.pane.detail.contact.identities) == 2
            ),
        )
        await pilot.press("U")
        await wait_for(pilot, lambda: len(screen.pane.detail.contact.identities) == 1)
        assert screen.pane.detail.other_conversations == ()


async def test_two_agents_never_answer_the_same_customer_unknowingly(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        await pilot.press(*"Alice here.")
        bob = await open_store(path, agent="bob")
        await bob.save_draft(ids["login"], "reply", "Bob here.")
        await wait_for(pilot, lambda: "bob is writing a reply" in screen_text(app))
        await bob.queue_reply(ids["login"], "Bob here.")
        await bob.close()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "bob replied" in screen_text(app)
        await pilot.press("n")
        await settled(pilot)
        detail = await detail_of(app, ids["login"])
        assert [m.body for m in detail.messages if m.direction == "out"] == ["Bob here."]
        assert screen.composer.is_open and screen.composer.body == "Alice here."
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not screen.composer.is_open)
        detail = await detail_of(app, ids["login"])
        assert [m.body for m in detail.messages if m.direction == "out"] == [
            "Bob here.",
            "Alice here.",
        ]


async def test_the_report_shows_each_channel_with_its_backlog(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=(150, 45)) as pilot:
        await ready(pilot)
        await pilot.press("M")
        await wait_for(pilot, lambda: "Last 7 days" in screen_text(app))
        text = screen_text(app)
        assert "Backlog" in text and "support" in text and "all channels" in text
        assert "Set [sla] first_response" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Last 7 days" not in screen_text(app))


async def test_tab_and_shift_tab_step_through_the_views(seeded) -> None:
    path, _ = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("tab")
        await wait_for(pilot, lambda: screen.view == View("pending"))
        await pilot.press("shift+tab", "shift+tab")
        await wait_for(pilot, lambda: screen.view == View("unassigned"))
        assert screen.queue.has_focus
