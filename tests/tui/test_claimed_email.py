"""An email a chat visitor claimed without proof is shown as claimed on the contact and
offered for a one-key link (L, then enter), never merged on its own."""

from __future__ import annotations

from textual.widgets import Input

from agentconsole.plugin import Author, Identity, InboundMessage
from agentconsole.tui.screens.prompts import PromptScreen

from .conftest import SIZE, make_app, ready, screen_text, wait_for
from .seed import NOW, open_store


async def test_a_claimed_email_is_shown_and_linked_with_one_key(store_path) -> None:
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
    claimed = Identity("email", "ada@example.com", verified=False)
    report = await store.ingest(
        "chat",
        [
            InboundMessage(
                "chat-1",
                Author("countess", (Identity("demo-chat", "countess"), claimed)),
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
        await wait_for(pilot, lambda: screen.pane.detail is not None)
        assert len(screen.pane.detail.contact.identities) == 1  # not merged on its own
        await wait_for(pilot, lambda: "claimed: ada@example.com" in screen_text(app))
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        assert app.screen.query_one(Input).value == "ada@example.com"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                len(screen.pane.detail.contact.identities) == 2
                and screen.pane.detail.contact.claims == ()
                and "Invoice question" in screen_text(app)
            ),
        )
