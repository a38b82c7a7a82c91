"""Building demo messages the way each kind of channel threads them.

Mail threads by Message-ID (``references`` lists every earlier message, oldest first), chat
and forum by the channel's own key (a chat session, a topic). The live channel and the store
seeder both build their messages here, so the seeded history and the live trickle look alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, formataddr

from agentconsole.plugin import Attachment, Author, InboundMessage

from .content import SUPPORT_DOMAIN, attachment_file
from .people import Person

FORUM_URL = "https://community.lumio.example/t/{key}/{number}"


def timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def reply_subject(subject: str) -> str:
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def make_attachment(filename: str) -> Attachment:
    content_type, data = attachment_file(filename)
    return Attachment(filename, content_type, data)


def raw_email(
    external_id: str,
    author: Author,
    subject: str,
    body: str,
    sent_at: datetime,
    references: tuple[str, ...],
) -> bytes:
    """The message as it would sit in a mailbox (headers and a plain-text body)."""
    address = author.identities[0].address if author.identities else f"support@{SUPPORT_DOMAIN}"
    headers = [
        f"From: {formataddr((author.name, address))}",
        f"Subject: {subject}",
        f"Date: {format_datetime(sent_at)}",
        f"Message-ID: {external_id}",
    ]
    if references:
        headers += [f"In-Reply-To: {references[-1]}", f"References: {' '.join(references)}"]
    headers += ["Content-Type: text/plain; charset=utf-8", "", body]
    return "\r\n".join(headers).encode()


@dataclass(slots=True)
class Thread:
    """One conversation being written, message by message.

    ``key`` names the thread uniquely within its channel; every message id derives from it
    and a message number, so rebuilding the same thread yields the same external ids.
    ``with_email`` makes chat and forum authors carry their mail address too.
    """

    kind: str
    key: str
    subject: str
    customer: Person
    with_email: bool = False
    posted: list[str] = field(default_factory=list)

    def _external_id(self, number: int, domain: str) -> str:
        if self.kind == "email":
            return f"<{self.key}.{number}@{domain}>"
        return f"{self.key}/{number}"

    def _message(
        self,
        number: int,
        author: Author,
        body: str,
        sent_at: float,
        *,
        domain: str,
        from_agent: bool,
        attachments: tuple[Attachment, ...] = (),
    ) -> InboundMessage:
        external_id = self._external_id(number, domain)
        first = not self.posted
        when = timestamp(sent_at)
        if self.kind == "email":
            references = tuple(self.posted)
            subject = self.subject if first else reply_subject(self.subject)
            message = InboundMessage(
                external_id=external_id,
                author=author,
                body=body,
                sent_at=when,
                subject=subject,
                references=references,
                attachments=attachments,
                raw=raw_email(external_id, author, subject, body, when, references),
                from_agent=from_agent,
            )
        else:
            message = InboundMessage(
                external_id=external_id,
                author=author,
                body=body,
                sent_at=when,
                subject=self.subject if self.kind == "forum" else "",
                thread_key=self.key,
                attachments=attachments,
                from_agent=from_agent,
                url=FORUM_URL.format(key=self.key, number=number) if self.kind == "forum" else None,
            )
        self.posted.append(external_id)
        return message

    def from_customer(
        self,
        number: int,
        body: str,
        sent_at: float,
        *,
        attachment: str | None = None,
        author: Person | None = None,
    ) -> InboundMessage:
        """A message by the thread's customer (or, on a forum, by ``author`` chiming in)."""
        who = author or self.customer
        identities = who.identities(self.kind, with_email=self.with_email and author is None)
        files = (make_attachment(attachment),) if attachment else ()
        return self._message(
            number,
            Author(who.name, identities),
            body,
            sent_at,
            domain=who.email.rpartition("@")[2],
            from_agent=False,
            attachments=files,
        )

    def from_agent(self, number: int, agent_name: str, body: str, sent_at: float) -> InboundMessage:
        """A reply our side wrote, as the channel shows it (a Sent folder, our chat line)."""
        # No identity: our own address must never become a customer contact.
        author = Author(agent_name, ())
        return self._message(number, author, body, sent_at, domain=SUPPORT_DOMAIN, from_agent=True)
