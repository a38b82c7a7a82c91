"""TLS as in production: IMAP over TLS (993-style) and STARTTLS, SMTP submission with
STARTTLS (587-style) and implicit TLS (465-style), certificates checked."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from agentconsole.plugin import PermanentError
from tests.channels.email.helpers import SUPPORT, channel, mail
from tests.channels.email.test_options_and_replies import outbound
from tests.integration.conftest import ImapUser, SmtpServer

pytestmark = pytest.mark.integration


def imap_options(user: ImapUser, tls: str, **extra: object) -> dict[str, object]:
    port = user.server.tls_port if tls == "ssl" else user.server.port
    values: dict[str, object] = {
        "imap_host": "127.0.0.1",
        "imap_port": port,
        "imap_tls": tls,
        "username": user.name,
        "password_env": "UNUSED",
        "tls_ca_file": str(user.server.ca_file),
        "timeout": 10.0,
    }
    values.update(extra)
    return values


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
async def test_imap_over_tls_with_the_certificate_checked(imap_user: ImapUser, tls: str) -> None:
    imap_user.append(mail("Over TLS", message_id=f"<tls-{tls}@example.org>"))
    plugin = channel(secret=lambda _: imap_user.password, **imap_options(imap_user, tls))
    try:
        result = await plugin.fetch(None)
    finally:
        await plugin.close()
    assert [m.external_id for m in result.messages] == [f"<tls-{tls}@example.org>"]


async def test_an_untrusted_certificate_is_a_permanent_error_naming_the_keys(
    imap_user: ImapUser,
) -> None:
    plugin = channel(
        secret=lambda _: imap_user.password, **imap_options(imap_user, "ssl", tls_ca_file="")
    )
    try:
        with pytest.raises(PermanentError) as error:
            await plugin.fetch(None)
    finally:
        await plugin.close()
    message = str(error.value)
    assert "TLS with IMAP server 127.0.0.1" in message and "certificate verify failed" in message
    assert "tls_ca_file in [channels.support]" in message


async def test_smtp_submission_over_tls(smtp_tls_server: SmtpServer) -> None:
    mode = smtp_tls_server.tls
    plugin = channel(
        maildir="/unused",
        smtp_host="127.0.0.1",
        smtp_port=smtp_tls_server.port,
        smtp_tls=mode,
        tls_ca_file=str(smtp_tls_server.ca_file),
    )
    try:
        result = await plugin.send(outbound(idempotency_key=f"tls-{mode}"))
    finally:
        await plugin.close()
    (received,) = smtp_tls_server.wait_for(1)
    assert message_from_bytes(received.data, policy=default)["Message-ID"] == result.external_id
    assert received.mail_from == SUPPORT
