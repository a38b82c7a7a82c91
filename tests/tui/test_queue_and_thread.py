"""The queue, the sidebar and the conversation pane, driven like an agent would."""

from __future__ import annotations

from pathlib import Path

from agentconsole.models import View
from agentconsole.tui.widgets.message_box import MessageBox
from agentconsole.tui.widgets.queue import QueueView

from .conftest import SIZE, make_app, ready, screen_text, wait_for
from .seed import message, open_store, seed_many


async def test_opening_shows_queue_in_answer_order_with_counts(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        assert screen.view == View("open")
        # urgent first, then high, then the customer waiting longest
        assert list(screen.queue.ids) == [ids["login"], ids["refund"], ids["forum"], ids["chat"]]
        assert screen.counts["open"] == 4
        assert screen.counts["channel:support"] == 2
        assert screen.counts["tag:billing"] == 1
        text = screen_text(app)
        assert "All open" in text and "Unassigned" in text and "#billing" in text
        assert "Login broken" in text and "Refund for order 1042" in text
        assert "‼" in text  # urgent is marked
        lines = text.splitlines()
        refund_line = next(line for line in lines if "Refund for order 1042" in line)
        assert "#billing" in refund_line and "!" in refund_line


async def test_j_k_enter_open_a_conversation_and_show_its_messages(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("j", "j", "j", "k")
        assert screen.queue.current_id == ids["forum"]
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["chat"])
        await wait_for(pilot, lambda: "my invoice is wrong" in screen_text(app))
        text = screen_text(app)
        assert "hi, is anyone there?" in text
        # chat renders compactly: each message is one line with time and author
        boxes = list(screen.pane.query(MessageBox))
        assert len(boxes) == 2 and all(box.has_class("-compact") for box in boxes)
        # the contact's other conversations, on every channel
        assert "Other conversations (1)" in text
        assert screen.pane.thread.has_focus
        await pilot.press("escape")
        assert screen.queue.has_focus


async def test_thread_shows_attachments_and_parse_notes(store_path: Path) -> None:
    from agentconsole.plugin import Attachment

    store = await open_store(store_path)
    await store.ingest(
        "support",
        [
            message(
                "att-1",
                "see attached",
                subject="Invoice copy",
                attachments=(
                    Attachment(
                        "../../etc/passwd\x1b]0;x\x07.pdf", "application/pdf", b"%PDF" * 600
                    ),
                ),
                parse_note="unknown charset x-evil; shown as latin-1",
            ),
            message(
                "auto-1",
                "I am out of office until Monday.",
                subject="Auto: Invoice copy",
                thread_key="att-1",
                automated=True,
                hours_ago=0.5,
            ),
        ],
    )
    await store.close()
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: "../../etc/passwd␛]0;x␇.pdf" in screen_text(app))
        text = screen_text(app)
        assert "2 KB" in text
        assert "Could not fully read this message" in text and "x-evil" in text
        automated = [box for box in screen.pane.query(MessageBox) if box.has_class("-automated")]
        assert len(automated) == 1 and "Automated message" in text
        assert "I am out of office until Monday." in text


async def test_queue_is_virtual_and_loads_rows_in_windows(store_path: Path) -> None:
    await seed_many(store_path, 2000)
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.main_screen.query_one(QueueView)
        assert len(queue.ids) == 2000
        # only the window around the viewport was fetched, not every row
        assert len(queue._rows) <= 2 * queue.window
        await pilot.press("G")
        assert queue.cursor == 1999
        last = queue.ids[-1]
        await wait_for(pilot, lambda: queue.row(last) is not None)
        await wait_for(pilot, lambda: queue.row(last).contact_name in screen_text(app))
        assert len(queue._rows) <= 4 * queue.window
        await pilot.press("g")
        assert queue.cursor == 0


async def test_cursor_moves_never_wait_for_rows(store_path: Path) -> None:
    await seed_many(store_path, 2000)
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.main_screen.query_one(QueueView)
        queue.action_page_down()
        for _ in range(30):
            queue.action_page_down()
        # the cursor is already where it was sent; rows arrive later
        assert queue.cursor == min(1999, 31 * (queue.scrollable_content_region.height - 1))
        strip = queue.render_line(0)
        assert strip.cell_length == queue.scrollable_content_region.width


async def test_a_first_run_without_channels_says_what_to_do(store_path: Path) -> None:
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "agentconsole demo" in screen_text(app))
        assert "No channels yet" in screen_text(app)
