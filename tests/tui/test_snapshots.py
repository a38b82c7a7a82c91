"""Snapshots of every screen and state an agent sees, on a deterministic store (fixed
clock, UTC): the queue, a conversation, each prompt, the composer, a read-only conversation,
search results, help at two sizes, the report, a failing channel and a folded long body.

Review the SVGs in ``__snapshots__/`` after ``pytest tests/tui --snapshot-update``: a
snapshot that captures a broken screen is a defect.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agentconsole.models import View
from agentconsole.plugin import Capabilities
from agentconsole.tui.screens.help import HelpScreen
from agentconsole.tui.screens.prompts import ChoiceScreen, ConfirmScreen, PromptScreen
from agentconsole.tui.screens.report import ReportScreen

from .conftest import FakeRunner, make_app, ready, screen_text, settled, wait_for
from .seed import NOW_TS, clock, message, open_store, seed_basic

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def seed_thread(path: Path) -> dict[str, int]:
    """The basic store plus, on the refund conversation, a note and a failed reply, all at
    fixed times."""
    ids = await seed_basic(path)
    store = await open_store(path)
    try:
        conversation_id = ids["refund"]
        await store.add_note(conversation_id, "Checked Stripe: charged twice. Refund one.")
        await store.queue_reply(conversation_id, "Sorry about that, the refund is on its way.")
        claimed = await store.claim_due_replies("support")
        await store.mark_failed(claimed[0].id, "550 5.1.1 mailbox unavailable")

        def pin_times(conn) -> None:
            conn.execute(
                "UPDATE messages SET sent_at = ?, created_at = ? WHERE direction = 'note'",
                (NOW_TS - 7200, NOW_TS - 7200),
            )
            conn.execute(
                "UPDATE messages SET sent_at = ?, created_at = ? WHERE direction = 'out'",
                (NOW_TS - 3600, NOW_TS - 3600),
            )
            conn.execute(
                "UPDATE conversations SET last_message_at = ?, first_response_at = ?,"
                " updated_at = ? WHERE id = ?",
                (NOW_TS - 3600, NOW_TS - 3600, NOW_TS - 3600, conversation_id),
            )

        await store.run_sync(pin_times)
    finally:
        await store.close()
    return ids


def test_snapshot_queue_with_sidebar(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"
    asyncio.run(seed_thread(path))
    app = make_app(path, clock=clock)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await wait_for(pilot, lambda: app.main_screen.pane.detail is not None)
        await settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_conversation_with_note_and_failed_reply(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"
    ids = asyncio.run(seed_thread(path))
    app = make_app(path, clock=clock)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: app.main_screen.pane.conversation_id == ids["refund"])
        # The thread shown, not only chosen: a reload may still be filling the pane.
        await wait_for(pilot, lambda: "Checked Stripe" in screen_text(app))
        await settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def snapshot(
    snap_compare,
    path: Path,
    *keys: str,
    until=None,
    size: tuple[int, int] = SIZE,
    runner: FakeRunner | None = None,
    before=None,
    config: dict[str, object] | None = None,
) -> bool:
    """Open the app on ``path`` (``config`` adds config tables), wait for the queue, press
    ``keys``, wait until ``until(app)`` and for everything started to finish, then
    compare."""
    app = make_app(path, clock=clock, runner=runner, config=config)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await wait_for(pilot, lambda: app.main_screen.pane.detail is not None)
        if before is not None:
            await before(app, pilot)
        await pilot.press(*keys)
        if until is not None:
            await wait_for(pilot, lambda: until(app))
        await settled_or_modal(pilot)

    return snap_compare(app, terminal_size=size, run_before=run_before)


async def settled_or_modal(pilot) -> None:
    """Like :func:`settled` (also while a modal screen is on top of the main screen), with
    text cursors steady: a blinking cursor would make the picture depend on the moment."""
    await settled(pilot)
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    await pilot.pause()


@pytest.fixture
def thread_store(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    asyncio.run(seed_thread(path))
    return path


def test_snapshot_help_80x24(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "question_mark",
        until=lambda app: isinstance(app.screen, HelpScreen),
        size=(80, 24),
    )


def test_snapshot_help_160x45(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "question_mark",
        until=lambda app: isinstance(app.screen, HelpScreen),
        size=(160, 45),
    )


def test_snapshot_report(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "M",
        until=lambda app: isinstance(app.screen, ReportScreen),
        size=(130, 40),
    )


def test_snapshot_report_80x24(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "M",
        until=lambda app: isinstance(app.screen, ReportScreen),
        size=(80, 24),
    )


def test_snapshot_snooze_prompt_with_its_preview(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "s",
        *"in 2h",
        until=lambda app: isinstance(app.screen, PromptScreen) and "→" in screen_text(app),
    )


def test_snapshot_snooze_prompt_refusing_a_time(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "s",
        *"whenever",
        "enter",
        until=lambda app: app.screen.query_one("#prompt-feedback").has_class("-error"),
    )


def test_snapshot_tag_prompt(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "j",
        "t",
        *"+vip -billing",
        until=lambda app: "remove #billing" in screen_text(app),
    )


def test_snapshot_priority_choice(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "p",
        until=lambda app: isinstance(app.screen, ChoiceScreen),
    )


def test_snapshot_assign_asks_before_taking_over(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"

    async def seed() -> None:
        ids = await seed_thread(path)
        bob = await open_store(path, agent="bob")
        await bob.assign(ids["login"], "bob")
        await bob.close()

    asyncio.run(seed())
    assert snapshot(
        snap_compare, path, "a", until=lambda app: isinstance(app.screen, ConfirmScreen)
    )


def test_snapshot_link_contact_prompt(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "L",
        *"dan@example.com",
        until=lambda app: "enter links them" in screen_text(app),
    )


def test_snapshot_composer_reply(thread_store: Path, snap_compare) -> None:
    async def refund_open(app, pilot) -> None:  # the reply is to the conversation shown
        await pilot.press("j")
        await wait_for(pilot, lambda: "Checked Stripe" in screen_text(app))
        await settled(pilot)

    assert snapshot(
        snap_compare,
        thread_store,
        "r",
        *"We have refunded the second charge.",
        before=refund_open,
        until=lambda app: "second charge." in screen_text(app),
    )


def test_snapshot_composer_note(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "n",
        *"Customer is on the legacy plan",
        until=lambda app: "legacy plan" in screen_text(app),
    )


def test_snapshot_read_only_conversation(thread_store: Path, snap_compare) -> None:
    runner = FakeRunner({"community": Capabilities(reply=False, read_only=True)})
    assert snapshot(
        snap_compare,
        thread_store,
        "j",
        "j",
        "enter",
        until=lambda app: "read-only" in screen_text(app),
        runner=runner,
    )


def test_snapshot_search_results(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "slash",
        *"invoice",
        until=lambda app: (
            app.main_screen.view == View("search", "invoice")
            and len(app.main_screen.queue.ids) == 1
            and "my invoice is wrong" in screen_text(app)  # the thread shown, not loading
            and "Other conversations (1)" in screen_text(app)
        ),
    )


REASON = (
    "config.toml: [channels.support] unknown key 'imap_hots' — did you mean 'imap_host'? "
    "(valid keys: imap_host, imap_port, imap_tls, username, password_command)"
)


def test_snapshot_channel_error_view(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"

    async def seed() -> None:
        await seed_thread(path)
        store = await open_store(path)
        await store.set_health("support", "error", REASON)
        await store.close()

    asyncio.run(seed())

    async def to_the_channel(app, pilot) -> None:
        app.main_screen.switch_view(View("channel", "support"))

    assert snapshot(
        snap_compare,
        path,
        until=lambda app: app.main_screen.query_one("#channel-notice").has_class("-shown"),
        size=(80, 24),
        before=to_the_channel,
    )


def test_snapshot_long_body_folded_after_its_parse_note(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"

    async def seed() -> None:
        store = await open_store(path)
        body = "Here is the log you asked for:\n" + ("x" * 79 + "\n") * 1000
        await store.ingest(
            "support",
            [
                message(
                    "log-1",
                    body,
                    subject="Crash log",
                    parse_note="declared charset x-unknown; shown as utf-8",
                    hours_ago=2,
                )
            ],
        )
        await store.close()

    asyncio.run(seed())
    assert snapshot(
        snap_compare,
        path,
        "enter",
        "end",
        until=lambda app: "more characters — z shows them" in screen_text(app),
    )


def test_snapshot_marked_queue_80x24(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "space",
        "j",
        "space",
        until=lambda app: len(app.main_screen.queue.marked) == 2,
        size=(80, 24),
    )


def test_snapshot_query_error_in_the_search_bar(thread_store: Path, snap_compare) -> None:
    assert snapshot(
        snap_compare,
        thread_store,
        "slash",
        *"tag:billing tga:x",
        until=lambda app: app.main_screen.query_one("#search-error").has_class("-shown"),
    )


def test_snapshot_bulk_confirmation(tmp_path: Path, snap_compare) -> None:
    from .seed import seed_many

    path = tmp_path / "store.db"
    asyncio.run(seed_many(path, 14))
    assert snapshot(
        snap_compare,
        path,
        "asterisk",
        "c",
        until=lambda app: isinstance(app.screen, ConfirmScreen),
    )


def test_snapshot_sidebar_with_personal_and_shared_views(
    thread_store: Path, tmp_path: Path, snap_compare
) -> None:
    from agentconsole import config as config_module
    from agentconsole.tui.app import AgentConsoleApp

    async def share() -> None:
        store = await open_store(thread_store)
        await store.save_view("urgent-ones", "priority:urgent", shortcut="X")
        await store.save_view("from-dan", "from:dan status:any")
        await store.close()

    asyncio.run(share())
    file = tmp_path / "config.toml"
    file.write_text(
        '[agent]\nname = "alice"\n\n[views.billing]\nquery = "tag:billing"\nkey = "b"\n\n'
        '[views.waiting-long]\nlabel = "Waiting > 1 day"\nquery = "waiting:>1d"\n',
        encoding="utf-8",
    )
    app = AgentConsoleApp(thread_store, config_module.load(str(file)), None, clock=clock)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await wait_for(pilot, lambda: "view:urgent-ones" in app.main_screen.counts)
        await pilot.press("b")
        await wait_for(pilot, lambda: app.main_screen.view.key == "view:billing")
        await settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def seed_sla(path: Path) -> dict[str, int]:
    """The basic store with SLA due times pinned around the fixed clock: one breached, one
    in its last quarter, one with most of its time left, one without a policy."""
    ids = await seed_basic(path)
    store = await open_store(path)
    pinned = [
        # (conversation, policy, clock started, due) relative to NOW_TS
        (ids["login"], "standard", -26 * 3600, -2 * 3600),  # breached 2h
        (ids["refund"], "standard", -3 * 3600, 42 * 60),  # due 42m, last quarter
        (ids["chat"], "urgent", -30 * 60, 50 * 60),  # due 50m, most of it left
    ]
    try:

        def pin(conn) -> None:
            for conversation_id, policy, started, due in pinned:
                conn.execute(
                    "UPDATE conversations SET sla_policy = ?, sla_target = 'first_response',"
                    " sla_started_at = ?, sla_due_at = ?, sla_breached = ? WHERE id = ?",
                    (policy, NOW_TS + started, NOW_TS + due, int(due < 0), conversation_id),
                )

        await store.run_sync(pin)
    finally:
        await store.close()
    return ids


def test_snapshot_queue_with_sla_countdowns(tmp_path: Path, snap_compare) -> None:
    path = tmp_path / "store.db"
    asyncio.run(seed_sla(path))
    assert snapshot(snap_compare, path, size=(120, 24))
