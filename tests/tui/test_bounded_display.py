"""Unbounded input, bounded display: a parse note before the body, long bodies folded until
z, the original of any message in $PAGER (cleaned on screen, exact bytes on disk), and a
failing channel's whole reason."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agentconsole.models import View
from agentconsole.tui.widgets.message_box import MessageBox
from agentconsole.tui.widgets.status import ChannelNotice, StatusLine

from .conftest import SIZE, make_app, notified, ready, screen_text, wait_for
from .seed import message, open_store

LONG_BODY = "START of a very long message\n" + ("0123456789" * 99 + "\n") * 80 + "THE END"
RAW = (
    b"From: Mallory <mallory@example.com>\r\n"
    b"Subject: invoice \x1b]0;pwned\x07\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"pay here \x1b]52;c;SGVsbG8=\x07 \x1b[2J \xc2\x9b31m and \xff\xfe bytes\r\n"
)


def thread_text(app: object) -> str:
    boxes = app.main_screen.pane.query(MessageBox)  # type: ignore[attr-defined]
    return "\n".join(str(box.content) for box in boxes)


async def test_a_long_body_folds_after_its_parse_note_and_z_shows_it_all(store_path: Path) -> None:
    store = await open_store(store_path)
    note = "no charset given; shown as utf-8"
    report = await store.ingest(
        "support", [message("long-1", LONG_BODY, subject="Logs", parse_note=note)]
    )
    await store.close()
    hidden = len(LONG_BODY) - 20_000
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "START of a very long message" in thread_text(app))
        shown = thread_text(app)
        assert f"… {hidden:,} more characters — z shows them" in shown
        assert "THE END" not in shown
        assert shown.index("Could not fully read this message") < shown.index("START")
        await pilot.press("z")
        await wait_for(pilot, lambda: "THE END" in thread_text(app))
        assert "more characters" not in thread_text(app)
        stored = await app.main_screen.services.store.conversation(report.created[0])
        assert stored.messages[0].body == LONG_BODY  # only the display was folded


async def test_v_shows_the_original_cleaned_in_the_pager_and_keeps_its_bytes(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_store(store_path)
    await store.ingest("support", [message("raw-1", "pay here", subject="invoice", raw=RAW)])
    await store.close()
    seen = tmp_path / "seen-by-pager.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f'#!/bin/sh\ncp "$1" "{seen}"\n', encoding="utf-8")
    pager.chmod(0o755)
    monkeypatch.setenv("PAGER", str(pager))
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "pay here" in thread_text(app))
        await pilot.press("v")
        await wait_for(pilot, lambda: notified(app, "is saved at"))
    shown = seen.read_bytes()
    # No control sequence reaches the terminal: ESC, BEL and C1 are visible stand-ins.
    for forbidden in (b"\x1b", b"\x07", b"\xc2\x9b"):
        assert forbidden not in shown
    text = shown.decode("utf-8")
    assert "␛]0;pwned␇" in text and "␛]52;c;SGVsbG8=␇" in text and "From: Mallory" in text
    # The exact bytes are kept in a private file, named on the pager's first line.
    saved = Path(text.split("\n", 1)[0].rsplit(" is saved at ", 1)[1])
    assert saved.read_bytes() == RAW
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # the cleaned copy is gone
    os.unlink(saved)
    saved.parent.rmdir()


async def test_v_opens_the_message_at_the_top_of_the_thread(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_store(store_path)
    first = b"Subject: first\r\n\r\n" + b"the first message\r\n" * 60
    second = b"Subject: second\r\n\r\nthe second message\r\n"
    await store.ingest(
        "support",
        [
            message("m-1", "the first message\n" * 60, thread_key="t", raw=first, hours_ago=2),
            message("m-2", "the second message", thread_key="t", raw=second, hours_ago=1),
        ],
    )
    await store.close()
    seen = tmp_path / "seen.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f'#!/bin/sh\ncp "$1" "{seen}"\n', encoding="utf-8")
    pager.chmod(0o755)
    monkeypatch.setenv("PAGER", str(pager))
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("enter")  # read: the thread opens on the newest message
        await wait_for(pilot, lambda: "the second message" in thread_text(app))
        # Scrolled to it once the thread is laid out (the first one is 60 lines long).
        await wait_for(pilot, lambda: app.main_screen.pane.thread.scroll_y > 0)
        await pilot.press("v")
        await wait_for(pilot, lambda: seen.exists())
        assert "Subject: second" in seen.read_text(encoding="utf-8")
        seen.unlink()
        await pilot.press("home")  # back to the top of the thread
        await wait_for(pilot, lambda: app.main_screen.pane.thread.scroll_y == 0)
        await pilot.press("v")
        await wait_for(pilot, lambda: seen.exists())
        assert "Subject: first" in seen.read_text(encoding="utf-8")


async def test_a_message_without_an_original_says_so(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_store(store_path)
    await store.ingest("livechat", [message("c-1", "hello there", thread_key="room")])
    await store.close()
    monkeypatch.setenv("PAGER", "false")
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "hello there" in thread_text(app))
        await pilot.press("v")
        await wait_for(pilot, lambda: notified(app, "has no stored original"))


REASON = (
    "config.toml: [channels.support] unknown key 'imap_hots' — did you mean 'imap_host'? "
    "(valid keys: imap_host, imap_port, imap_tls, username, password_command)"
)


async def test_a_failing_channel_gives_its_whole_reason_in_its_view(store_path: Path) -> None:
    store = await open_store(store_path)
    await store.ingest("support", [message("m-1", "hello", subject="Hello")])
    await store.set_health("support", "error", REASON)
    await store.close()
    app = make_app(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        screen = app.main_screen
        status = screen.query_one(StatusLine)
        await wait_for(pilot, lambda: "channel error: support" in str(status.content))
        assert "its view says why" in str(status.content)
        notice = screen.query_one(ChannelNotice)
        assert not notice.display or not notice.has_class("-shown")
        screen.switch_view(View("channel", "support"))
        await wait_for(pilot, lambda: notice.has_class("-shown"))
        assert str(notice.content) == f"⚠ support is not working: {REASON}"
        # All of it is on screen at 80 columns: wrapped, not cut.
        await wait_for(pilot, lambda: notice.size.height >= 3)
        region = notice.region
        lines = screen_text(app).split("\n")[region.y : region.bottom]
        inside = " ".join(line[region.x : region.right] for line in lines).replace("█", "")
        shown = " ".join(inside.split())
        assert "did you mean 'imap_host'?" in shown and "password_command)" in shown


async def test_the_hints_in_the_thread_name_the_remapped_keys(store_path: Path) -> None:
    store = await open_store(store_path)
    await store.ingest(
        "support", [message("long-2", LONG_BODY, subject="Logs", parse_note="odd charset")]
    )
    await store.close()
    app = make_app(store_path, keys={"toggle_quotes": "f", "view_source": "V,ctrl+g"})
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "START of a very long message" in thread_text(app))
        shown = thread_text(app)
        assert "more characters — f shows them" in shown and "z shows" not in shown
        assert "— V / ^g shows the original" in shown
