"""The public channel contract: the one module a channel plugin imports.

A channel plugin turns its protocol into normalized :class:`InboundMessage` values and
delivers :class:`OutboundMessage` values. The core does everything else: deduplication,
threading, contacts, search, rules, cursors, the outbox and its retries.

What the core guarantees a plugin:

* ``fetch`` is called with the last cursor the plugin returned *whose batch was committed*.
  A batch may therefore be fetched twice after a crash; the core stores each message once
  (same channel, ``external_id`` and content digest), so re-delivering is always safe. A
  message whose ``external_id`` is known but whose content differs is never dropped: it is
  stored in the same conversation with a note naming the message whose id it shares.
* ``send`` is called at least once per reply, and its acceptance is recorded as sent the
  moment ``send`` returns, before anything else; a reply recorded as sent is never sent
  again. Before retrying a reply whose earlier attempt may have reached the channel, the
  core calls ``find_sent`` so a plugin can look for it (by Message-ID, transaction id, ...)
  and avoid posting it twice. When the process died while sending and ``find_sent`` cannot
  tell, a plugin with ``resend_when_unsure = False`` has the reply marked "unknown — check
  the channel" instead of sent again; the agent retries it explicitly.
* Work a plugin wants done after the channel accepted a reply (filing a copy in a Sent
  folder) goes in ``SendResult.follow_up``: the core records it with the sent state in one
  transaction and calls ``after_send`` until it succeeds, across restarts, never sending
  the reply again for it.
* Calls on one plugin instance never overlap with each other for fetch, and never overlap
  with each other for send.

What a plugin must do:

* Never block the event loop: run blocking client libraries with ``asyncio.to_thread``.
* Put a timeout on every network call.
* Raise :class:`TemporaryError` for failures worth retrying (network drop, 5xx, 429) and
  :class:`PermanentError` for failures that will not heal by themselves (recipient rejected,
  room gone). Any other exception is treated as temporary and logged with its traceback.
* Never import Textual and never touch the store.
* Import from agentconsole only this package: ``agentconsole.plugin`` and the helper
  modules it exports, such as :mod:`agentconsole.plugin.http` (a lazy aiohttp session,
  ``Retry-After``, HMAC-signed requests, a small endpoint for pushed channels). Never import
  another plugin: what two plugins share belongs here. ``make lint`` checks it.

A plugin may also offer a demo (:attr:`ChannelPlugin.demo_channels` and
:meth:`ChannelPlugin.seed_plan`): the channels ``agentconsole demo`` runs and the history it
writes into the demo store first, as :class:`SeedConversation` values.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

__all__ = [
    "API_VERSION",
    "html_to_text",
    "is_loopback",
    "Attachment",
    "Author",
    "AuthorRole",
    "Capabilities",
    "ChannelContext",
    "ChannelKind",
    "ChannelPlugin",
    "ChannelError",
    "DemoChannelSetup",
    "FetchResult",
    "Identity",
    "InboundMessage",
    "Option",
    "OutboundMessage",
    "PermanentError",
    "SeedConversation",
    "SeedReply",
    "SeedReplyOutcome",
    "SendResult",
    "TemporaryError",
]

#: Bumped when the contract changes incompatibly; the core refuses plugins built for another.
API_VERSION = 1

ChannelKind = Literal["email", "chat", "forum"]
#: Who wrote an inbound message (see :attr:`InboundMessage.author_role`).
AuthorRole = Literal["customer", "agent", "bot"]


class ChannelError(Exception):
    """Base of the errors a plugin raises; the message is shown to the agent as it is."""


class TemporaryError(ChannelError):
    """The operation failed but may succeed later; the core retries with backoff.

    ``retry_after`` (seconds) is honoured when the channel says how long to wait
    (an HTTP ``Retry-After``, a server's flood limit).
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ChannelError):
    """The operation cannot succeed as asked; the core marks the reply failed with this reason."""


@dataclass(frozen=True, slots=True)
class Identity:
    """One address a person is known by on one channel family.

    ``namespace`` says what kind of address it is and is shared by every channel where the
    same address means the same person: ``"email"`` for mail addresses (whatever channel
    reported them), ``"matrix"`` for Matrix user ids, ``"irc:<network>"`` for IRC nicks,
    ``"discourse:<host>"`` for forum users. Two identities with the same namespace and
    address are the same person; the core merges their contacts.

    ``verified`` is false for an address the channel reports without vouching for it (a chat
    visitor typing an email, an API payload without ``"email_verified": true``): the core
    never merges contacts on it — it shows it on the contact as claimed, for an agent to
    link by hand — so nobody takes over a customer's history by naming their address.
    """

    namespace: str
    address: str
    verified: bool = True


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote an inbound message. The first identity is the one replies go to."""

    name: str
    identities: tuple[Identity, ...]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried by a message. ``filename`` is only a suggestion, never a path."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message as the channel delivered it, normalized.

    ``external_id`` is the channel's id of the message, stable across deliveries (a
    Message-ID, an event id, a post id); the core deduplicates on it together with
    ``content_digest``. ``thread_key`` is the channel's
    own conversation key when it has one (a room, a topic, a chat session); ``references``
    lists external ids this message answers (In-Reply-To / References for mail), newest last.
    ``raw`` keeps the original bytes; ``parse_note`` explains what could not be understood
    (the message is stored anyway). ``conversation_token`` is the token the plugin found in
    the message (e.g. ``[#42]`` in a subject) that names the conversation it continues; the
    core honours it only when the author is that conversation's contact, so a stranger
    quoting a subject never lands in someone else's thread. ``automated`` marks auto-replies and bounces, which never
    reopen a conversation. ``from_agent`` marks a message our side wrote, seen on the channel
    (a Sent folder, our own chat line): it is stored as outbound.

    ``content_digest`` tells redeliveries from different messages under the same
    ``external_id``: ``"scheme:hex"``, equal exactly when the content is the same (e.g. the
    email plugin hashes the raw message without the headers added in transit). Leave it
    ``None`` and the core digests the author, subject, body and attachments (not
    ``sent_at``, which plugins often fill with the time of fetching).

    ``author_role`` says who wrote it when the channel knows: ``"customer"`` (the default),
    ``"agent"`` (the same as ``from_agent``) or ``"bot"`` (a bot that answered before a
    person). Agents' and bots' lines are stored as outbound and never start the
    customer's waiting clock; a bot's line is not an agent's first response. ``handoff``
    marks the message with which a bot hands the conversation to people: the conversation
    is put (back) in the queue, open, with the customer waiting from this message on, and
    is recorded as handed off by the bot. Both default to what older plugins meant.
    """

    external_id: str
    author: Author
    body: str
    sent_at: datetime
    subject: str = ""
    thread_key: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    raw: bytes | None = None
    parse_note: str | None = None
    automated: bool = False
    from_agent: bool = False
    url: str | None = None
    conversation_token: str | None = None
    participants: tuple[Identity, ...] = ()
    content_digest: str | None = None
    author_role: AuthorRole = "customer"
    handoff: bool = False

    @property
    def role(self) -> AuthorRole:
        """Who wrote it, ``from_agent`` included: ``customer``, ``agent`` or ``bot``."""
        return "agent" if self.from_agent and self.author_role == "customer" else self.author_role


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A reply for the plugin to deliver.

    ``idempotency_key`` is the same on every attempt of the same reply; a plugin uses it as
    its transaction id / Message-ID so a retry is recognisable. ``recipients`` are the
    identities of the customer on this channel; ``in_reply_to`` is the external id of the
    message answered, ``references`` the thread's external ids, oldest first.
    ``conversation_token`` is what the plugin may put in the message (a subject tag such as
    ``[#42]``) for the customer's answer to carry back as ``InboundMessage.conversation_token``.
    ``recipients`` lists first the address the customer last wrote from, then the contact's
    other identities (on every channel): a plugin picks those of its own namespace. ``cc``
    are the other participants of the message answered, to copy on the reply.
    """

    idempotency_key: str
    body: str
    subject: str
    thread_key: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    recipients: tuple[Identity, ...]
    author_name: str
    attachments: tuple[Attachment, ...] = ()
    conversation_token: str = ""
    cc: tuple[Identity, ...] = ()


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the channel called the delivered reply (its external id) and where it lives.

    ``follow_up``: bytes the plugin needs to finish after the reply is recorded as sent
    (for email, the exact message to file in the Sent folder), or None. The core stores them
    with the sent state in the same transaction and passes this result to
    :meth:`ChannelPlugin.after_send` until that succeeds; a failing follow-up never causes
    the reply to be sent again.
    """

    external_id: str
    url: str | None = None
    follow_up: bytes | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One batch from ``fetch``. ``cursor`` is persisted with the batch, in one transaction.

    ``more`` asks the core to call ``fetch`` again at once (a backlog is being read);
    otherwise the core waits with ``wait_for_activity`` before the next call.
    """

    messages: tuple[InboundMessage, ...]
    cursor: str | None
    more: bool = False


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can do. The TUI hides what a channel lacks."""

    reply: bool = True
    attachments: bool = False
    threads: bool = False
    read_only: bool = False
    push: bool = False

    def refusal(self, channel: str, *, with_attachments: bool = False) -> str | None:
        """Why a reply on ``channel`` cannot go out, or None when it can.

        The one place the CLI, the TUI and the sync runner decide "can this channel reply /
        take attachments", so they never disagree.
        """
        if self.read_only or not self.reply:
            return f"channel {channel} is read-only"
        if with_attachments and not self.attachments:
            return f"channel {channel} cannot send attachments"
        return None


@dataclass(frozen=True, slots=True)
class Option:
    """One config key a plugin accepts under ``[channels.NAME]``.

    ``type`` is one of ``str``, ``int``, ``float``, ``bool``, ``list`` (of strings).
    A ``secret`` option is never written literally in the config: the agent gives
    ``<name>_command`` (a shell command printing it), ``<name>_env`` (an environment
    variable) or ``<name>_keyring`` (``"service"`` or ``"service/user"``), and the core
    resolves it. ``choices`` restricts a ``str`` option to the listed values.
    """

    name: str
    type: type
    help: str
    default: Any = None
    required: bool = False
    secret: bool = False
    choices: tuple[str, ...] = ()


SecretResolver = Callable[[str], str]
#: The ways a secret option NAME can be given: NAME_command, NAME_env, NAME_keyring.
SECRET_SOURCES = ("command", "env", "keyring")
PushIngest = Callable[[Sequence[InboundMessage]], Awaitable[None]]
OverloadReport = Callable[[str | None], None]


async def _no_push(messages: Sequence[InboundMessage]) -> None:
    raise PermanentError("this channel was started without a store to push messages into")


def _no_report(detail: str | None) -> None:
    return None


@dataclass(slots=True)
class ChannelContext:
    """What the core hands a plugin instance: its name, checked options and a logger.

    ``secret(name)`` resolves a secret option (runs the command, reads the environment or
    the keyring) each time it is called, so a rotated password is picked up on reconnect;
    it raises :class:`PermanentError` with an actionable message when it cannot.

    ``ingest(messages)`` is for channels that are pushed to (a webhook, an HTTP endpoint):
    it stores the messages in one transaction and returns only once they are committed, so
    the plugin can acknowledge the sender (HTTP 202) knowing nothing will be lost. It raises
    :class:`TemporaryError` when the store cannot take them right now (busy, full: answer
    "retry later", e.g. 503) and :class:`PermanentError` when it cannot take them at all.
    Pulled channels return messages from ``fetch`` instead.

    ``report_overload(detail)`` tells the core the channel is overloaded (e.g. its endpoint
    is at its connection cap): the channel's health shows "overloaded" with ``detail`` until
    it is called with ``None``. It returns at once and may be called from any callback on the
    event loop.

    The core bounds every ``InboundMessage.sent_at``: a time far in the past or the future
    is stored as the arrival time with a note, so a plugin may pass on what the sender said.
    """

    name: str
    options: Mapping[str, Any]
    secret: SecretResolver
    logger: logging.Logger = field(
        default_factory=lambda: logging.getLogger("agentconsole.channel")
    )
    data_dir: str | None = None
    ingest: PushIngest = _no_push
    report_overload: OverloadReport = _no_report

    def has_secret(self, name: str) -> bool:
        """Whether the config gives secret option ``name`` (as a command, env or keyring)."""
        return any(f"{name}_{source}" in self.options for source in SECRET_SOURCES)


class ChannelPlugin(ABC):
    """Base class of every channel plugin; subclass it and list it under the
    ``agentconsole.channels`` entry-point group (or drop a module defining ``PLUGIN`` =
    the class into the plugin folder).
    """

    #: The value of ``type`` in ``[channels.NAME]`` that selects this plugin.
    type_name: ClassVar[str]
    #: email, chat or forum: how the TUI shows its conversations.
    kind: ChannelKind = "email"
    capabilities: ClassVar[Capabilities] = Capabilities()
    options: ClassVar[tuple[Option, ...]] = ()
    #: Seconds between fetches when the channel has no push.
    poll_interval: ClassVar[float] = 60.0
    #: Whether the core may send a reply again when the process died while sending it and
    #: ``find_sent`` cannot tell whether it got through. True suits channels where a repeat
    #: is recognised (an email with the same Message-ID, a transaction id); False has such a
    #: reply marked "unknown — check the channel" for the agent to retry explicitly.
    resend_when_unsure: ClassVar[bool] = True
    api_version: ClassVar[int] = API_VERSION

    def __init__(self, context: ChannelContext) -> None:
        self.context = context
        self.log = context.logger

    @property
    def name(self) -> str:
        return self.context.name

    @abstractmethod
    async def fetch(self, cursor: str | None) -> FetchResult:
        """Return the messages after ``cursor`` (``None``: from the beginning, as far back as
        the channel's options say) and the cursor to resume from next time."""

    async def wait_for_activity(self, timeout: float) -> None:
        """Return when new messages may be available, or after ``timeout`` seconds.

        Push channels (IMAP IDLE, a long poll, a webhook) override this; the default sleeps
        for ``min(timeout, poll_interval)``.
        """
        import asyncio  # here: a script reading the store imports this contract, not asyncio

        await asyncio.sleep(min(timeout, self.poll_interval))

    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver a reply. Only called when ``capabilities.reply`` is true."""
        raise PermanentError(f"channel type {self.type_name!r} cannot send replies")

    async def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """Look for an earlier attempt of ``message`` that reached the channel.

        Called before every retry; return its result to have it marked sent without sending
        again. The default (no way to look) returns ``None``.
        """
        return None

    async def after_send(self, result: SendResult) -> None:
        """Finish the follow-up of a reply the channel accepted (``result.follow_up``, as
        ``send`` returned it; ``result.url`` is not kept). Called after the reply is
        recorded as sent, and again after a failure or a crash until it returns, so it must
        be idempotent (look before filing a second copy). Raise :class:`TemporaryError` to
        be called again later, :class:`PermanentError` to give up (logged; the reply stays
        sent). The default does nothing."""
        return None

    async def parse_delivery(self, data: bytes) -> InboundMessage:
        """Turn one message piped to ``agentconsole deliver --channel NAME`` (e.g. an RFC 822
        message from Postfix or procmail) into an inbound message. Must not lose anything it
        cannot parse: return the raw bytes with a ``parse_note`` instead of raising.
        The default refuses: the channel does not take piped messages."""
        raise PermanentError(f"channel type {self.type_name!r} does not accept piped messages")

    async def close(self) -> None:
        """Release connections. Called once when the channel stops."""
        return None

    #: The channels this plugin runs in ``agentconsole demo``, each with its options; empty
    #: (the default) when the plugin offers no demo.
    demo_channels: ClassVar[tuple[DemoChannelSetup, ...]] = ()

    @classmethod
    def seed_plan(cls, now: float, seed: int, agent: str) -> tuple[SeedConversation, ...]:
        """The history the demo store starts with, ending at ``now`` (Unix seconds).

        Only asked of a plugin with ``demo_channels``; every conversation is on one of them.
        ``agent`` is the user name of the agent running the demo (the one who wrote the
        ``reply`` of a conversation). The same ``now``, ``seed`` and ``agent`` must give the
        same plan: the core writes it through ingest, so seeding twice stores nothing new.
        The default offers none.
        """
        return ()


# -- the demo ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoChannelSetup:
    """One channel ``agentconsole demo`` runs with the plugin that offers it: its name
    (``[channels.NAME]``), kind, and the options it is configured with (checked against
    the plugin's ``options`` like any config)."""

    name: str
    kind: ChannelKind
    options: Mapping[str, Any] = field(default_factory=dict)


#: What became of a seeded reply: delivered, failed (with ``failure`` as the reason), or
#: still queued for the live channel to deliver.
SeedReplyOutcome = Literal["sent", "failed", "queued"]


@dataclass(frozen=True, slots=True)
class SeedReply:
    """A reply the demo's agent wrote during the seeded day, and what became of it."""

    body: str
    outcome: SeedReplyOutcome
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class SeedConversation:
    """One conversation as the demo store should end up holding it.

    ``messages`` go through ingest like fetched ones (threading, contacts, search), oldest
    first; they must thread into one conversation. What the team did with it is then done
    through the agent actions: ``assignee`` (an agent user name, or ``None``), ``status``
    (open, pending, snoozed — until ``snooze_until``, Unix seconds — or closed),
    ``priority`` (0 urgent … 3 low), ``tags``, an internal ``note`` and the agent's
    ``reply``.
    """

    channel: str
    messages: tuple[InboundMessage, ...]
    status: Literal["open", "pending", "snoozed", "closed"] = "open"
    priority: int = 2
    assignee: str | None = None
    tags: tuple[str, ...] = ()
    snooze_until: float | None = None
    note: str | None = None
    reply: SeedReply | None = None


#: HTML larger than this is cut before conversion (the raw message is kept whole).
MAX_HTML_CHARS = 2_000_000


def html_to_text(html: str) -> str:
    """Readable plain text for HTML from outside (a mail body, a forum post, a feed entry).

    inscriptis (Apache-2.0) lays out paragraphs, lists, quotes and tables as text and parses
    with lxml, which never touches the network: nothing the HTML names (images, styles,
    frames) is ever fetched. Images become nothing, links their text. Falls back to
    stripping tags when lxml refuses a fragment. The result is still outside data: the
    core neutralizes it on display.
    """
    import re

    html = html[:MAX_HTML_CHARS]
    if not html.strip():
        return ""
    try:
        from inscriptis import get_text  # imported on first use: plain text never pays
        from inscriptis.model.config import ParserConfig

        text = get_text(html, ParserConfig(display_images=False, display_links=False))
    except Exception:  # lxml refuses some documents (e.g. only a comment)
        text = re.sub(r"<[^>]*>", " ", html)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, ``127.0.0.1``, ``[::1]``): the one
    place a plugin may send a secret without TLS (nobody else can read the wire)."""
    import ipaddress

    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
