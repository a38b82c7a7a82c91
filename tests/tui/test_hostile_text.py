"""Outside text renders literally: markup, links, actions and terminal escapes do nothing."""

from __future__ import annotations

from pathlib import Path

from textual.widgets._toast import Toast

from agentconsole.tui.screens.prompts import PromptScreen
from agentconsole.tui.widgets.queue import QueueView

from .conftest import SIZE, make_app, ready, screen_text, wait_for
from .seed import HOSTILE, message, open_store

EVIL_CHANNEL = "[bold]ch\x1b]0;x\x07"


async def seed_hostile(path: Path) -> int:
    store = await open_store(path)
    await store.ensure_channel(EVIL_CHANNEL, "demo", "email")
    report = await store.ingest(
        EVIL_CHANNEL,
        [
            message(
                "evil-1",
                HOSTILE + "\nsecond line " + HOSTILE,
                subject=HOSTILE,
                name=HOSTILE,
                address="evil@example.com",
                hours_ago=2,
            )
        ],
    )
    conversation_id = report.created[0]
    await store.set_priority(conversation_id, 0)
    await store.close()
    return conversation_id


def assert_literal(text: str) -> None:
    assert "[bold]x[/bold]" in text
    assert "[@click=app.quit]q[/]" in text
    assert "[link=http://e.x]l[/link]" in text
    assert "␛]52;c;SGVsbG8=␇" in text and "␛]0;pwned␇" in text and "␛[2J" in text
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text


async def test_hostile_text_is_shown_literally_everywhere(store_path: Path) -> None:
    conversation_id = await seed_hostile(store_path)
    app = make_app(store_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await ready(pilot)
        screen = app.main_screen
        queue = screen.query_one(QueueView)
        assert queue.current_id == conversation_id
        row_text = queue.render_line(0).text
        assert "[bold]x[/bold]" in row_text and "[@click=app.quit]" in row_text
        assert "\x1b" not in row_text
        await wait_for(pilot, lambda: screen.pane.conversation_id == conversation_id)
        text = screen_text(app)
        assert_literal(text)
        assert "[bold]ch␛]0;x␇" in text  # the channel name in the sidebar and the header
        # the composer's quote of the customer text
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        quote = screen_text(app).split("Reply to", 1)[1]
        assert "> [bold]x[/bold]" in quote
        assert_literal(quote)
        await pilot.press("escape")
        # a hostile tag typed by an agent (or set by a script) is data too
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"[@click=app.quit]x")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "tag:[@click=app.quit]x" in screen.counts)
        await wait_for(pilot, lambda: "#[@click=app.quit]x" in screen_text(app))
        # the command palette lists views by their (hostile) names, literally
        await pilot.press("ctrl+p")
        await pilot.press(*"click")
        await wait_for(pilot, lambda: "Go to view: #[@click=app.quit]x" in screen_text(app))
        await pilot.press("escape")
        assert app.is_running and app.return_code is None


async def test_notifications_with_outside_text_are_not_markup(store_path: Path) -> None:
    await seed_hostile(store_path)
    app = make_app(store_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        app.report("failed for [@click=app.quit]x[/] \x1b]0;pwned\x07 [bold]y")
        await wait_for(pilot, lambda: list(app.screen.query(Toast)))
        text = app.screen.query_one(Toast).render().plain
        assert text == "failed for [@click=app.quit]x[/] ␛]0;pwned␇ [bold]y"
        assert app.is_running
