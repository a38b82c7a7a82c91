"""The whole path a user takes: mail in Dovecot shows in the real TUI (real sync runner),
the agent presses r, types and sends, and the reply reaches the SMTP server and Sent."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

from agentconsole import config as config_module
from agentconsole.sync import SyncRunner
from agentconsole.tui.app import AgentConsoleApp
from tests.integration.conftest import ImapUser, SmtpServer
from tests.tui.conftest import wait_for

from .test_imap_smtp import SUPPORT, mail, make_config, options, sent_folder_ids


async def test_mail_arrives_in_the_tui_and_a_reply_typed_there_goes_out(
    imap_user: ImapUser, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    imap_user.append(
        mail("Printer on fire", message_id="<tui1@example.org>", sender="Bob <bob@example.org>")
    )
    config = make_config(options(imap_user, smtp_server))
    app = AgentConsoleApp(
        tmp_path / "store.db", config, lambda store: SyncRunner(store, config), poll_interval=0.2
    )
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(
            pilot, lambda: app.main_screen is not None and app.main_screen.queue.ids, timeout=20
        )
        screen = app.main_screen
        await wait_for(pilot, lambda: "Printer on fire" in _text(app), timeout=10)
        await wait_for(pilot, lambda: screen.pane.detail is not None, timeout=10)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        await pilot.press(*"Please step away from the printer.")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "✓ sent" in _text(app), timeout=20)
        # The Sent copy is filed by a follow-up job once the server accepted the reply.
        await wait_for(pilot, lambda: sent_folder_ids(imap_user), timeout=20)
    (received,) = smtp_server.wait_for(1)
    sent = message_from_bytes(received.data, policy=default)
    assert received.rcpt_tos == ["bob@example.org"]
    assert sent["In-Reply-To"] == "<tui1@example.org>"
    assert "Please step away from the printer." in sent.get_content()
    assert sent_folder_ids(imap_user) == [sent["Message-ID"]]


async def test_a_reply_typed_in_the_tui_carries_the_configured_display_name(
    imap_user: ImapUser, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    imap_user.append(
        mail("Where is my parcel", message_id="<tui2@example.org>", sender="Bob <bob@example.org>")
    )
    config = config_module.parse(
        {
            "agent": {"name": "alice", "display_name": "Alice from Acme"},
            "sync": {"lease_seconds": 5, "retry_max_seconds": 1},
            "channels": {"mail": options(imap_user, smtp_server)},
        },
        "test.toml",
    )
    app = AgentConsoleApp(
        tmp_path / "store.db", config, lambda store: SyncRunner(store, config), poll_interval=0.2
    )
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: "Where is my parcel" in _text(app), timeout=20)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.pane.detail is not None, timeout=10)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.composer.is_open)
        await pilot.press(*"It is on its way.")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "✓ sent" in _text(app), timeout=20)
    (received,) = smtp_server.wait_for(1)
    sent = message_from_bytes(received.data, policy=default)
    (sender,) = sent["From"].addresses
    # The email channel names the agent and the address (no from_name is set here); what
    # matters is that it is the configured display name, not the login "alice".
    assert (sender.display_name, sender.addr_spec) == (f"Alice from Acme via {SUPPORT}", SUPPORT)
    assert f'From: "Alice from Acme via {SUPPORT}" <{SUPPORT}>' in received.data.decode()


def _text(app: AgentConsoleApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
