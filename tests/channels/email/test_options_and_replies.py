"""Options checked with actionable messages; replies built to thread in every client."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from agentconsole.plugin import Identity, OutboundMessage, PermanentError
from agentconsole_email import threads
from agentconsole_email.smtp import build_reply, recipient_of, reply_message_id

from .helpers import SUPPORT, channel


def test_plaintext_only_to_loopback() -> None:
    with pytest.raises(PermanentError, match=r"imap_tls = \"none\".*imap.example.com.*loopback"):
        channel(imap_host="imap.example.com", imap_tls="none", password_command="pass x")
    with pytest.raises(PermanentError, match="smtp_tls"):
        channel(maildir="/m", smtp_host="smtp.example.com", smtp_tls="none")
    assert (
        channel(imap_host="127.0.0.1", imap_tls="none", password_env="P").settings.imap_port == 143
    )
    assert channel(imap_host="localhost", imap_tls="none", password_env="P")


def test_combinations_are_explained() -> None:
    with pytest.raises(PermanentError, match="needs either imap_host .* or maildir"):
        channel()
    with pytest.raises(PermanentError, match="not both"):
        channel(imap_host="imap.example.com", maildir="/m", password_env="P")
    with pytest.raises(PermanentError, match="needs password_command"):
        channel(imap_host="imap.example.com")
    with pytest.raises(PermanentError, match="needs oauth2_token_command"):
        channel(imap_host="imap.gmail.com", auth="xoauth2")
    with pytest.raises(PermanentError, match="is not a mail address"):
        channel(maildir="/m", from_address="support")


def test_defaults_follow_the_tls_mode() -> None:
    settings = channel(
        imap_host="imap.example.com",
        password_command="x",
        smtp_host="smtp.example.com",
        smtp_tls="ssl",
    ).settings
    assert settings.imap_port == 993 and settings.smtp_port == 465
    assert settings.username == SUPPORT and settings.smtp_username == SUPPORT
    assert settings.folders == ("INBOX",) and not settings.mark_read and not settings.move_to


def outbound(**fields: object) -> OutboundMessage:
    values: dict[str, object] = {
        "idempotency_key": "0f3c9a",
        "body": "Hello Ada,\n\nwe reset your router remotely. Café ☕.\n",
        "subject": "Re: My router is broken [#41]",
        "thread_key": None,
        "in_reply_to": "<m2@example.org>",
        "references": (
            "<m1@example.org>",
            "<abc@synthetic.agentconsole.invalid>",
            "<m2@example.org>",
        ),
        "recipients": (
            Identity("irc:libera", "ada"),
            Identity("email", "ada@example.org"),
            Identity("email", "ada@work.example"),
        ),
        "author_name": "Alice",
        "conversation_token": "41",
    }
    values.update(fields)
    return OutboundMessage(**values)  # type: ignore[arg-type]


def test_a_reply_has_every_threading_header() -> None:
    settings = channel(maildir="/m", smtp_host="127.0.0.1", smtp_tls="none").settings
    raw = build_reply(settings, outbound()).as_bytes()
    parsed = message_from_bytes(raw, policy=default)
    (sender,) = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (f"Alice via {SUPPORT}", SUPPORT)
    assert parsed["To"] == "ada@example.org"
    assert parsed["Subject"] == "Re: My router is broken [#41]"
    assert (
        parsed["Message-ID"]
        == reply_message_id("0f3c9a", SUPPORT)
        == "<0f3c9a.agentconsole@acme.example>"
    )
    assert parsed["In-Reply-To"] == "<m2@example.org>"
    assert parsed["References"] == "<m1@example.org> <m2@example.org>"
    assert parsed["Date"]
    assert (
        parsed.get_content().replace("\r\n", "\n")
        == "Hello Ada,\n\nwe reset your router remotely. Café ☕.\n"
    )
    assert threads.conversation_token(parsed["Subject"]) == "41"


def test_reply_subjects_never_pile_up_prefixes_or_tokens() -> None:
    assert threads.reply_subject("Re: RE: Fwd: Help [#3]", "3") == "Re: Help [#3]"
    assert threads.reply_subject("AW: Rechnung", "7") == "Re: Rechnung [#7]"
    assert threads.reply_subject("", "7") == "Re: Your message [#7]"


def test_a_contact_without_mail_address_cannot_be_answered_by_mail() -> None:
    with pytest.raises(PermanentError, match="no email address"):
        recipient_of(outbound(recipients=(Identity("matrix", "@ada:example.org"),)))


def test_from_name_overrides_the_agent_name() -> None:
    settings = channel(maildir="/m", from_name="Acme Support").settings
    parsed = message_from_bytes(build_reply(settings, outbound()).as_bytes(), policy=default)
    assert parsed["From"] == f"Acme Support <{SUPPORT}>"


def test_every_email_channel_of_the_example_config_starts() -> None:
    from pathlib import Path

    from agentconsole import config as config_module
    from agentconsole.plugin import ChannelContext
    from agentconsole_email import EmailChannel

    root = Path(__file__).resolve().parents[3]
    config = config_module.load(str(root / "config.example.toml"))
    emails = [c for c in config.channels.values() if c.type == "email"]
    assert len(emails) >= 4
    for channel_config in emails:
        options = config_module.check_channel_options(channel_config, EmailChannel)
        assert EmailChannel(ChannelContext(channel_config.name, options, secret=lambda _: "x"))


def test_reply_all_copies_the_other_participants_but_never_us_or_the_customer() -> None:
    settings = channel(maildir="/m", smtp_host="127.0.0.1", smtp_tls="none").settings
    cc = (
        Identity("email", "bob@example.org"),
        Identity("email", "ada@example.org"),
        Identity("matrix", "@carol:example.org"),
        Identity("email", "bob@example.org"),
    )
    parsed = message_from_bytes(build_reply(settings, outbound(cc=cc)).as_bytes(), policy=default)
    assert parsed["To"] == "ada@example.org"
    assert [a.addr_spec for a in parsed["Cc"].addresses] == ["bob@example.org"]
    assert "Cc" not in message_from_bytes(
        build_reply(settings, outbound()).as_bytes(), policy=default
    )
