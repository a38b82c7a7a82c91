"""The composer's saved-reply picker, driven with Pilot on a real store: filtering, the
filled-in preview, an unknown placeholder shown as an error (and not insertable), broken
files listed, inserting at the cursor, escape, and the reply's macro applied on send."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agentconsole.tui.widgets.reply_picker import ReplyPicker

from .conftest import SIZE, make_app, picker_open, ready, screen_text, settled, wait_for
from .seed import HOSTILE, clock, message, open_store, seed_basic

OUTAGE = """+++
title = "Outage: we are on it"
keywords = ["outage", "down"]
channels = ["email", "chat"]
tags = ["+outage"]
status = "pending"
+++
Hi {customer.first_name},

we know payments fail since {conversation.created_at:%H:%M} and are on it.
--\x20
{agent.display_name}
"""

FILES = {
    "outage": OUTAGE,
    "welcome": '+++\ntitle = "Welcome"\nkeywords = ["hello"]\n+++\nthanks, {customer.name}!\n',
    "typo": '+++\ntitle = "Typo reply"\n+++\nHi {customer.frist_name}\n',
    "forum-only": '+++\ntitle = "Forum etiquette"\nchannels = ["forum"]\n+++\nPlease\n',
    "broken": '+++\ntitel = "Broken"\n+++\nbody\n',
}


@pytest.fixture(autouse=True)
def replies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The agent's replies folder under a private XDG_CONFIG_HOME; times shown in UTC."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    folder = tmp_path / "xdg" / "agentconsole" / "replies"
    folder.mkdir(parents=True)
    for name, text in FILES.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    yield folder
    monkeypatch.undo()
    time.tzset()


def picker(app) -> ReplyPicker:
    assert picker_open(app)
    return app.main_screen.query_one(ReplyPicker)


def preview(app) -> str:
    return str(picker(app).query_one("#picker-preview").render())


async def open_picker(pilot, conversation_id: int) -> None:
    app = pilot.app
    screen = app.main_screen
    await ready(pilot)
    steps = screen.queue.ids.index(conversation_id)
    await pilot.press(*["j"] * steps)
    await wait_for(
        pilot,
        lambda: screen.pane.detail is not None and screen.pane.detail.row.id == conversation_id,
    )
    await pilot.press("r")
    await wait_for(pilot, lambda: screen.composer.is_open)
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: picker_open(app))


async def test_typing_filters_and_the_preview_is_filled_in_for_the_conversation(seeded) -> None:
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, ids["login"])
        shown = picker(app)
        # Offered on email: not the forum's reply; the broken file is listed with its error.
        assert [r.name for r in shown.matches] == ["outage", "typo", "welcome"]
        assert "broken.md: unknown key 'titel'" in screen_text(app)
        assert "did you mean 'title'" in screen_text(app)
        await pilot.press(*"hello")
        await wait_for(pilot, lambda: [r.name for r in shown.matches] == ["welcome"])
        assert preview(app) == "thanks, Dan Doe!"
        for _ in "hello":
            await pilot.press("backspace")
        await pilot.press(*"outg")
        await wait_for(
            pilot, lambda: shown.highlighted is not None and shown.highlighted.name == "outage"
        )
        assert preview(app).startswith("Hi Dan,\n\nwe know payments fail since ")
        assert preview(app).endswith("-- \nalice")  # email keeps the signature


async def test_an_unknown_placeholder_shows_its_error_and_cannot_be_inserted(seeded) -> None:
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, ids["login"])
        await pilot.press(*"typo")
        await wait_for(pilot, lambda: "did you mean {customer.first_name}" in preview(app))
        assert preview(app).startswith("cannot be inserted: unknown placeholder")
        assert picker(app).query_one("#picker-preview").has_class("-error")
        await pilot.press("enter")
        await settled(pilot)
        assert picker_open(app)  # still open: nothing inserted
        await pilot.press("escape")
        await wait_for(pilot, lambda: not picker_open(app))
        assert app.main_screen.composer.body == ""
        assert app.main_screen.composer.text_area.has_focus


async def test_enter_inserts_the_filled_text_at_the_cursor(seeded) -> None:
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, ids["login"])
        await pilot.press("escape")
        composer = app.main_screen.composer
        await wait_for(pilot, lambda: composer.text_area.has_focus)
        await pilot.press(*"Dear X. Bye", *["left"] * 4)  # the cursor before " Bye"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: picker_open(app))
        await pilot.press("down", "down")  # outage, typo, welcome
        await wait_for(pilot, lambda: picker(app).highlighted.name == "welcome")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not picker_open(app))
        assert composer.body == "Dear X.thanks, Dan Doe!\n Bye"
        assert composer.text_area.has_focus


async def test_every_match_is_listed_and_the_highlight_scrolls_into_view(
    seeded, replies: Path
) -> None:
    for index in range(60):
        text = f'+++\ntitle = "Zz bulk {index:02}"\n+++\nHi {{customer.name}} {index}\n'
        (replies / f"zz-{index:02}.md").write_text(text, encoding="utf-8")
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, ids["login"])
        await pilot.press(*"zz")
        shown = picker(app)
        await wait_for(pilot, lambda: len(shown.matches) == 60)  # all of them, not a page
        assert "Zz bulk 10" not in screen_text(app)  # six lines show
        await pilot.press(*["down"] * 10)
        await wait_for(pilot, lambda: shown.highlighted.title == "Zz bulk 10")
        await wait_for(pilot, lambda: "Zz bulk 10" in screen_text(app))
        assert preview(app) == "Hi Dan Doe 10"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main_screen.composer.body == "Hi Dan Doe 10\n")


async def test_a_chat_reply_has_no_signature_and_its_macro_applies_on_send(seeded) -> None:
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, ids["chat"])
        assert [r.name for r in picker(app).matches] == ["outage", "typo", "welcome"]
        assert picker(app).highlighted.name == "outage"
        await wait_for(pilot, lambda: preview(app).startswith("Hi Carol,"))
        assert "alice" not in preview(app) and "-- " not in preview(app)
        await pilot.press("enter")
        composer = app.main_screen.composer
        await wait_for(pilot, lambda: composer.body.startswith("Hi Carol,"))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not composer.is_open)
        await settled(pilot)
        detail = await app.store.conversation(ids["chat"])
        assert [m.body for m in detail.messages if m.direction == "out"] == [composer_text(detail)]
        assert (detail.row.status, "outage" in detail.row.tags) == ("pending", True)


async def insert_outage(pilot, conversation: int):  # type: ignore[no-untyped-def]
    """Insert the outage reply into a reply on ``conversation`` through the picker; the
    composer and its "on send" line, once both show it."""
    app = pilot.app
    await open_picker(pilot, conversation)
    await wait_for(pilot, lambda: preview(app).startswith("Hi Carol,"))
    await pilot.press("enter")
    composer = app.main_screen.composer
    await wait_for(pilot, lambda: composer.body.startswith("Hi Carol,"))
    await wait_for(pilot, lambda: on_send_shown(app))
    return composer


def on_send_shown(app) -> bool:
    """Whether the screen shows what sending will do (the outage reply's actions)."""
    return "on send: +outage, pending" in screen_text(app)


async def send_and_see_the_outage_macro_applied(pilot, conversation: int) -> None:  # type: ignore[no-untyped-def]
    """Send the open composer's reply; once sent, ``conversation`` is pending and tagged
    ``outage`` (the outage reply's macro)."""
    app = pilot.app
    composer = app.main_screen.composer
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: not composer.is_open)
    await settled(pilot)
    detail = await app.store.conversation(conversation)
    assert (detail.row.status, "outage" in detail.row.tags) == ("pending", True)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_what_send_will_do_and_the_text_show_on_a_small_screen_too(
    seeded, size: tuple[int, int]
) -> None:
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=size) as pilot:
        await insert_outage(pilot, ids["chat"])  # waits for "on send: +outage, pending"
        assert "we know payments fail since" in screen_text(app)  # the text area, not cut


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_a_notification_stacks_above_the_open_picker(seeded, size: tuple[int, int]) -> None:
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=size, notifications=True) as pilot:
        await open_picker(pilot, ids["chat"])
        shown = picker(app)
        for line in ("First notice", "Second notice", "Third notice"):
            app.notify(line)
        await wait_for(pilot, lambda: "Third notice" in screen_text(app))
        await pilot.pause()
        toasts = [toast.region for toast in app.screen.query("Toast")]
        assert len(toasts) == 3
        assert all(not toast.overlaps(shown.region) for toast in toasts)
        assert "enter: insert" in screen_text(app)  # the picker's hint line is not hidden
        await pilot.press("escape")
        await wait_for(pilot, lambda: not picker_open(app))
        await pilot.pause()
        rack = app.screen.query_one("ToastRack")
        assert rack.styles.margin.bottom == 1  # back at the bottom, where Textual puts them


async def test_a_saved_replys_actions_survive_leaving_the_draft_and_coming_back(seeded) -> None:
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        composer = await insert_outage(pilot, ids["chat"])
        await pilot.press("escape")  # leave the draft ...
        await wait_for(pilot, lambda: not composer.is_open)
        await pilot.press("r")  # ... and come back to it
        await wait_for(pilot, lambda: composer.is_open and composer.body.startswith("Hi Carol,"))
        await wait_for(pilot, lambda: on_send_shown(app))
        await send_and_see_the_outage_macro_applied(pilot, ids["chat"])
        # Sent: a next reply there starts without them.
        assert app.main_screen.services.drafts.inserted(ids["chat"], "reply") == ()


async def test_a_saved_replys_actions_survive_quitting_and_apply_once_after_a_restart(
    seeded,
) -> None:
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        composer = await insert_outage(pilot, ids["chat"])
        await pilot.press(*"Thanks.")
        await pilot.press("ctrl+q")  # quit with the draft open
    app = make_app(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press(*["j"] * screen.queue.ids.index(ids["chat"]), "r")
        composer = screen.composer
        await wait_for(pilot, lambda: composer.is_open and composer.conversation_id == ids["chat"])
        assert composer.body.startswith("Hi Carol,") and composer.body.endswith("Thanks.")
        await wait_for(pilot, lambda: on_send_shown(app))
        await send_and_see_the_outage_macro_applied(pilot, ids["chat"])
        entries = await app.store.audit_log(ids["chat"])
        assert [e.action for e in entries].count("tag") == 1  # applied once, with the send
        # They went with the draft: a next reply there starts without them.
        assert await app.store.draft_macros(ids["chat"], "reply") == ()
        assert not app.main_screen.services.drafts.inserted(ids["chat"], "reply")


async def test_undo_send_brings_the_saved_replys_actions_back_with_the_text(seeded) -> None:
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await insert_outage(pilot, ids["chat"])
        await send_and_see_the_outage_macro_applied(pilot, ids["chat"])
        await wait_for(pilot, lambda: "takes it back" in screen_text(app))
        await pilot.press("u")
        composer = app.main_screen.composer
        await wait_for(pilot, lambda: composer.is_open and composer.conversation_id == ids["chat"])
        assert composer.body.startswith("Hi Carol,")
        await wait_for(pilot, lambda: on_send_shown(app))
        taken_back = await app.store.conversation(ids["chat"])
        assert (taken_back.row.status, "outage" in taken_back.row.tags) == ("open", False)
        await send_and_see_the_outage_macro_applied(pilot, ids["chat"])


def composer_text(detail) -> str:
    created = time.strftime("%H:%M", time.localtime(detail.row.created_at))
    return f"Hi Carol,\n\nwe know payments fail since {created} and are on it.\n"


async def test_a_reply_sent_without_a_saved_reply_changes_no_tags(seeded) -> None:
    path, ids = seeded
    app = make_app(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, ids["login"])
        await pilot.press("escape")  # picker closed without choosing
        composer = app.main_screen.composer
        await wait_for(pilot, lambda: composer.text_area.has_focus)
        await pilot.press(*"Try again now.", "ctrl+s")
        await wait_for(pilot, lambda: not composer.is_open)
        await settled(pilot)
        detail = await app.store.conversation(ids["login"])
        assert (detail.row.status, detail.row.tags) == ("open", ())


def test_snapshot_composer_with_the_picker_open_80x24(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"
    ids = asyncio.run(seed_basic(path))
    app = make_app(path, clock=clock)

    async def run_before(pilot) -> None:
        await open_picker(pilot, ids["refund"])
        await pilot.press(*"out")
        await wait_for(pilot, lambda: preview(app).startswith("Hi Carol,"))
        await settled(pilot)
        for widget in app.screen.query("Input, TextArea"):
            widget.cursor_blink = False

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_a_hostile_customer_name_is_filled_in_as_plain_text(
    store_path: Path, replies: Path
) -> None:
    await seed_basic(store_path)
    store = await open_store(store_path)
    try:
        report = await store.ingest(
            "support",
            [message("evil-1", "hi", name=HOSTILE, address="mallory@example.com", subject="x")],
        )
        evil = report.created[0]
    finally:
        await store.close()
    app = make_app(store_path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, evil)
        await pilot.press(*"hello")
        await wait_for(pilot, lambda: picker(app).highlighted.name == "welcome")
        await wait_for(pilot, lambda: preview(app).startswith("thanks, [bold]x[/bold]"))
        assert "\x1b" not in preview(app) and "\x9b" not in preview(app)
        assert "[@click=app.quit]q[/]" in screen_text(app)  # shown, never run as markup
        await pilot.press("enter")
        composer = app.main_screen.composer
        await wait_for(pilot, lambda: composer.body.startswith("thanks, "))
        assert "\x1b" not in composer.body and "\n" not in composer.body.rstrip("\n")
