"""Replies as RFC 5322 messages, submitted over SMTP (smtplib, off the event loop).

The Message-ID is derived from the reply's idempotency key, so every attempt of one reply
carries the same id: the Sent folder can be searched for it before a retry, and a recipient
whose client sees it twice shows it once.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from agentconsole.plugin import OutboundMessage, PermanentError, TemporaryError

from . import threads
from .options import Settings, tls_context
from .outgoing import clean_header_text, is_sendable_address, is_sendable_message_id

SecretGetter = Callable[[str], str]


def reply_message_id(idempotency_key: str, from_address: str) -> str:
    """``<key.agentconsole@our-domain>``: the same for every attempt of the same reply."""
    key = re.sub(r"[^A-Za-z0-9._-]", "", idempotency_key) or "reply"
    return f"<{key}{reply_id_suffix(from_address)}"


def reply_id_suffix(from_address: str) -> str:
    """How every Message-ID of our replies ends."""
    domain = from_address.rpartition("@")[2] or "agentconsole.invalid"
    return f".agentconsole@{domain}>"


def recipient_of(message: OutboundMessage) -> str:
    """The customer's mail address: the first identity in the ``email`` namespace. Raises
    :class:`PermanentError` (the reply is marked failed with the reason, never sent) when
    there is none or it is not a valid address."""
    for identity in message.recipients:
        if identity.namespace == "email" and "@" in identity.address:
            address = identity.address.strip()
            if not is_sendable_address(address):
                raise PermanentError(
                    f"the customer's address {_shown(address)} is not a valid email address; "
                    "the reply was not sent"
                )
            return address
    raise PermanentError(
        "this contact has no email address to reply to (their messages came from another "
        "channel or without a sender)"
    )


def _shown(address: str) -> str:
    """An address for an error message: controls made visible, at most 80 characters."""
    visible = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in address)
    return repr(visible[:80])


def copied_addresses(message: OutboundMessage, to: str) -> tuple[list[str], list[str]]:
    """The Cc of a reply-all (everyone the customer wrote to but the customer) and the
    addresses left out because they are not valid addresses."""
    kept: list[str] = []
    invalid: list[str] = []
    for identity in message.cc:
        address = identity.address.strip()
        if identity.namespace != "email" or "@" not in address or address == to:
            continue
        (kept if is_sendable_address(address) else invalid).append(address)
    return list(dict.fromkeys(kept)), invalid


def _address(name: str, address: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=clean_header_text(name), username=local, domain=domain)


def build_reply(
    settings: Settings, message: OutboundMessage, now: datetime | None = None
) -> EmailMessage:
    """The reply as a message, with headers that thread it in Gmail, Thunderbird and
    Outlook (In-Reply-To, References, ``Re:`` subject) and carry the conversation token."""
    to = recipient_of(message)
    name = settings.from_name or (
        f"{message.author_name} via {settings.from_address}" if message.author_name else ""
    )
    mail = EmailMessage(policy=SMTP)
    mail["From"] = _address(name, settings.from_address)
    mail["To"] = _address("", to)
    copied, _ = copied_addresses(message, to)
    if copied:
        # Reply-all: everyone the customer wrote to, except us, stays on the thread.
        mail["Cc"] = [_address("", address) for address in copied]
    mail["Subject"] = clean_header_text(
        threads.reply_subject(clean_header_text(message.subject), message.conversation_token)
    )
    mail["Date"] = format_datetime(now or datetime.now(UTC))
    mail["Message-ID"] = reply_message_id(message.idempotency_key, settings.from_address)
    parent = threads.message_id(message.in_reply_to) if message.in_reply_to else None
    if parent is not None and not is_sendable_message_id(parent):
        parent = None  # cleaning it would name another message: thread by References alone
    if parent and threads.outbound_references([parent]):
        mail["In-Reply-To"] = parent
    references = [
        r for r in threads.outbound_references(message.references) if is_sendable_message_id(r)
    ]
    if parent and parent in threads.outbound_references([parent]) and parent not in references:
        references.append(parent)
    if references:
        # Keep the first (thread root) and the most recent ones: some servers limit the line.
        if len(references) > 20:
            references = [references[0], *references[-19:]]
        mail["References"] = " ".join(references)
    mail.set_content(message.body)
    for attachment in message.attachments:
        main, _, sub = attachment.content_type.partition("/")
        mail.add_attachment(
            attachment.data,
            maintype=main or "application",
            subtype=sub or "octet-stream",
            filename=clean_header_text(attachment.filename) or "attachment",
        )
    return mail


def _smtp_error(settings: Settings, error: smtplib.SMTPException | OSError) -> Exception:
    server = f"{settings.smtp_host}:{settings.smtp_port}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        secret = (
            "oauth2_token"
            if settings.auth != "password"
            else ("smtp_password" if settings.has_smtp_password else "password")
        )
        return PermanentError(
            f"SMTP login to {settings.smtp_host} as {settings.smtp_username} failed: "
            f"authentication rejected — check {secret}_command in {settings.where}"
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        detail = "; ".join(
            f"{r}: {c} {m.decode('utf-8', 'replace')}" for r, (c, m) in error.recipients.items()
        )
        if codes and all(500 <= c < 600 for c in codes):
            return PermanentError(f"the mail server refused the recipient ({detail})")
        return TemporaryError(f"the mail server deferred the recipient ({detail})")
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return PermanentError(f"SMTP server {server}: {error} — check smtp_tls in {settings.where}")
    if isinstance(error, smtplib.SMTPResponseException):
        text = (
            error.smtp_error.decode("utf-8", "replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        if 500 <= error.smtp_code < 600:
            return PermanentError(
                f"SMTP server {server} refused the reply: {error.smtp_code} {text}"
            )
        return TemporaryError(f"SMTP server {server} deferred the reply: {error.smtp_code} {text}")
    if isinstance(error, ssl.SSLError):
        return PermanentError(
            f"TLS with SMTP server {server} failed: {error} — check smtp_tls "
            f"and smtp_port in {settings.where}"
        )
    if isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException):
        # Down, unreachable, timed out: the phrase the channel's health shows while it lasts.
        return TemporaryError(
            f"cannot reach SMTP server {server}: {error.strerror or type(error).__name__}"
        )
    return TemporaryError(
        f"cannot deliver to SMTP server {server}: {type(error).__name__}: {error}"
    )


def submit(settings: Settings, secret: SecretGetter, mail: EmailMessage) -> None:
    """Submit one message (blocking: call off the loop); returns the moment the server
    accepted it. Raises :class:`PermanentError` or :class:`TemporaryError`."""
    if not settings.smtp_host:
        raise PermanentError(f"{settings.where} has no smtp_host: this channel cannot send replies")
    context = tls_context(settings)
    recipients = [
        a.addr_spec
        for header in ("To", "Cc")
        for a in getattr(mail[header], "addresses", ())
        if mail[header] is not None
    ]
    try:
        if settings.smtp_tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout)
    except (smtplib.SMTPException, OSError) as error:
        raise _smtp_error(settings, error) from error
    try:
        client.ehlo()
        if settings.smtp_tls == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if settings.smtp_username:
            _login(settings, secret, client)
        refused = client.send_message(mail, from_addr=settings.from_address, to_addrs=recipients)
        if refused and len(refused) == len(recipients):  # pragma: no cover - smtplib raises
            raise smtplib.SMTPRecipientsRefused(refused)
    except (smtplib.SMTPException, OSError) as error:
        client.close()
        raise _smtp_error(settings, error) from error
    except BaseException:
        client.close()
        raise
    # Accepted (250 after DATA): return at once so the core records it as sent; QUIT is
    # said behind its back — waiting for its answer would widen the window in which a
    # crash leaves an accepted reply unrecorded.
    threading.Thread(target=_quit, args=(client,), name="smtp-quit", daemon=True).start()


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()


def _login(settings: Settings, secret: SecretGetter, client: smtplib.SMTP) -> None:
    if settings.auth == "password":
        password = secret("smtp_password" if settings.has_smtp_password else "password")
        client.login(settings.smtp_username, password)
        return
    token = secret("oauth2_token")
    if settings.auth == "xoauth2":
        initial = f"user={settings.smtp_username}\x01auth=Bearer {token}\x01\x01"
        client.auth(
            "XOAUTH2",
            lambda challenge=None: initial if challenge is None else "",
            initial_response_ok=True,
        )
    else:
        host, port = settings.smtp_host, settings.smtp_port
        initial = f"n,a={settings.smtp_username},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
        client.auth(
            "OAUTHBEARER",
            lambda challenge=None: initial if challenge is None else "",
            initial_response_ok=True,
        )
