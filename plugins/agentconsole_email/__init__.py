"""The bundled email channel: IMAP (with IDLE) or a Maildir in, SMTP out, a mail pipe.

``[channels.NAME]`` with ``type = "email"``; see :mod:`.options` for every key. Inbound
mail is read without changing the mailbox (unless ``mark_read`` / ``move_to`` say so), parsed
on every core while the core stores the previous batch, and threaded by Message-ID, then by
the ``[#N]`` token our replies carry in their subject.

The cursor is JSON: ``{"imap": {folder: {"uidvalidity": V, "last_uid": U}}}`` or
``{"maildir": {"changed_ns": T, "keys_at": [...]}}``. A changed UIDVALIDITY reads that folder
again from the start; the core's dedupe on the Message-ID keeps that free of duplicates.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentconsole.plugin import (
    Capabilities,
    ChannelContext,
    ChannelError,
    ChannelKind,
    ChannelPlugin,
    FetchResult,
    InboundMessage,
    OutboundMessage,
    SendResult,
)

from . import maildir as maildir_module
from .imap import FolderPosition, ImapAccount
from .options import OPTIONS, settings_from
from .parse import ParseSettings, parse_safely
from .pool import Parser
from .smtp import (
    build_reply,
    copied_addresses,
    recipient_of,
    reply_id_suffix,
    reply_message_id,
    submit,
)

__all__ = ["EmailChannel"]

#: Maildir files parsed per batch (an import runs batch after batch with ``more``).
MAILDIR_BATCH = 1000
#: Batches fetched and parsed ahead of the one the core stores, while a backlog is read.
READ_AHEAD = 2
#: How often a Maildir is checked for new files while waiting (two stat calls).
MAILDIR_CHECK_SECONDS = 0.5


def _decode_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class EmailChannel(ChannelPlugin):
    """Email over IMAP or a Maildir, replies over SMTP."""

    type_name = "email"
    kind: ChannelKind = "email"
    capabilities = Capabilities(reply=True, attachments=True, threads=True, push=True)
    options = OPTIONS
    poll_interval = 300.0

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        self.settings = settings_from(context)
        self.poll_interval = self.settings.poll_interval  # type: ignore[misc]
        self.parse_settings = ParseSettings(self.settings.own_addresses)
        self._parser = Parser(self.parse_settings)
        imap = bool(self.settings.imap_host)
        self._fetching = ImapAccount(self.settings, context.secret, "fetch") if imap else None
        # IDLE watches one selected folder per connection: one connection per folder.
        self._idlers = (
            {
                folder: ImapAccount(self.settings, context.secret, f"idle {folder}")
                for folder in self.settings.folders
            }
            if imap
            else {}
        )
        self._sending = ImapAccount(self.settings, context.secret, "send") if imap else None
        self._idle_supported: bool | None = None
        self._stop_waiting = threading.Event()
        #: Batches being fetched and parsed ahead, in order; the first continues from
        #: ``_ahead_from`` and each of the others from the one before it.
        self._ahead: collections.deque[_Ahead] = collections.deque()
        self._ahead_from: str | None = None
        #: Committed-or-not batches: (cursor returned, {folder: uids}) for mark_read/move_to.
        self._unacknowledged: list[tuple[str | None, dict[str, list[int]]]] = []
        #: A Maildir scan's remainder, valid while fetch is called with ``cursor``.
        self._scan: tuple[str, list[maildir_module.MaildirEntry]] | None = None
        self._maildir_stamp: tuple[int, ...] | None = None

    # -- fetching --------------------------------------------------------------------------

    async def fetch(self, cursor: str | None) -> FetchResult:
        """The next batch. While a backlog is read (``more``), the :data:`READ_AHEAD`
        batches after it are already being fetched and parsed, one after the other, while
        the core stores this one: the parse workers never wait for the core to ask."""
        if self._ahead and self._ahead_from == cursor:
            try:
                result = await self._ahead.popleft().task
            except BaseException:
                self._cancel_ahead()  # the ones after it continue from where it failed
                raise
        else:
            self._cancel_ahead()
            result = await self._fetch_now(cursor)
        self._ahead_from = result.cursor
        await self._acknowledge(cursor)
        if not result.more:
            self._cancel_ahead()  # new mail is looked for afresh after the wait
            return result
        while len(self._ahead) < READ_AHEAD:
            previous = self._ahead[-1] if self._ahead else None
            fetched: asyncio.Future[tuple[str | None, bool]] = (
                asyncio.get_running_loop().create_future()
            )
            task = asyncio.create_task(self._fetch_after(previous, result.cursor, fetched))
            task.add_done_callback(functools.partial(_settle, fetched))
            self._ahead.append(_Ahead(task, fetched))
        return result

    async def _fetch_after(
        self,
        previous: _Ahead | None,
        cursor: str | None,
        fetched: asyncio.Future[tuple[str | None, bool]],
    ) -> FetchResult:
        """The batch after ``previous`` — begun as soon as ``previous`` is fetched, while it
        is still being parsed — or from ``cursor`` when none."""
        if previous is not None:
            cursor, more = await asyncio.shield(previous.fetched)
            if not more:
                return FetchResult((), cursor)  # never delivered: see fetch
        return await self._fetch_now(cursor, fetched)

    def _cancel_ahead(self) -> None:
        while self._ahead:
            self._ahead.popleft().task.cancel()

    async def _fetch_now(
        self, cursor: str | None, fetched: asyncio.Future[tuple[str | None, bool]] | None = None
    ) -> FetchResult:
        """The batch from ``cursor``; ``fetched`` is given ``(cursor after, more)`` once the
        batch is read from the mailbox, before it is parsed."""
        state = _decode_cursor(cursor)
        if self.settings.maildir:
            return await self._fetch_maildir(cursor, state, fetched)
        return await self._fetch_imap(state, fetched)

    async def _fetch_imap(
        self, state: dict[str, Any], fetched: asyncio.Future[tuple[str | None, bool]] | None
    ) -> FetchResult:
        assert self._fetching is not None
        positions: dict[str, FolderPosition] = {}
        for folder, value in (state.get("imap") or {}).items():
            if isinstance(value, dict):
                with contextlib.suppress(TypeError, ValueError):
                    positions[folder] = FolderPosition(
                        int(value.get("uidvalidity", 0)), int(value.get("last_uid", 0))
                    )
        items, after, more = await asyncio.to_thread(
            self._fetching.fetch_new, positions, expect=self._parser.expect
        )
        cursor = json.dumps(
            {
                "imap": {
                    folder: {"uidvalidity": p.uidvalidity, "last_uid": p.last_uid}
                    for folder, p in after.items()
                }
            },
            separators=(",", ":"),
            sort_keys=True,
        )
        if items and (self.settings.mark_read or self.settings.move_to):
            done: dict[str, list[int]] = {}
            for item in items:
                done.setdefault(item.folder, []).append(item.uid)
            self._unacknowledged.append((cursor, done))  # in mailbox order, before parsing
        _announce(fetched, cursor, more)
        messages = self._without_our_replies(
            await self._parser.parse_raws([(f.raw, f.internal_date) for f in items])
        )
        return FetchResult(messages, cursor, more)

    async def _acknowledge(self, cursor: str | None) -> None:
        """``cursor`` proves the batches up to it were committed: apply mark_read/move_to."""
        positions = [c for c, _ in self._unacknowledged]
        if cursor is None or cursor not in positions or self._fetching is None:
            return
        upto = positions.index(cursor) + 1
        done: dict[str, list[int]] = {}
        for _, batch in self._unacknowledged[:upto]:
            for folder, uids in batch.items():
                done.setdefault(folder, []).extend(uids)
        del self._unacknowledged[:upto]
        try:
            await asyncio.to_thread(self._fetching.flag_and_move, done)
        except ChannelError as error:
            self.log.warning("%s: could not mark fetched mail read / move it: %s", self.name, error)

    async def _fetch_maildir(
        self,
        cursor: str | None,
        state: dict[str, Any],
        fetched: asyncio.Future[tuple[str | None, bool]] | None,
    ) -> FetchResult:
        position = maildir_module.MaildirCursor.decode(state.get("maildir"))
        if self._scan is not None and self._scan[0] == (cursor or ""):
            entries = self._scan[1]
        else:
            root = await asyncio.to_thread(
                maildir_module.check_maildir, self.settings.maildir, self.settings.where
            )
            self._maildir_stamp = await asyncio.to_thread(maildir_module.directory_stamp, root)
            entries = await asyncio.to_thread(maildir_module.scan, root, position)
        batch, rest = entries[:MAILDIR_BATCH], entries[MAILDIR_BATCH:]
        new_cursor = maildir_module.dumps(maildir_module.advance(position, batch))
        self._scan = (new_cursor, rest) if rest else None
        _announce(fetched, new_cursor, bool(rest))
        parsed = await self._parser.parse_files([(entry.path, entry.modified) for entry in batch])
        messages = self._without_our_replies(m for m in parsed if m is not None)
        return FetchResult(messages, new_cursor, more=bool(rest))

    def _without_our_replies(
        self, messages: Iterable[InboundMessage]
    ) -> tuple[InboundMessage, ...]:
        """Copies of replies this channel sent (seen in a Sent folder, a Bcc) are already in
        the store through the outbox: ingesting one before the outbox records its Message-ID
        would make two messages of one reply."""
        suffix = reply_id_suffix(self.settings.from_address)
        return tuple(m for m in messages if not (m.from_agent and m.external_id.endswith(suffix)))

    # -- waiting ---------------------------------------------------------------------------

    async def wait_for_activity(self, timeout: float) -> None:
        """IMAP IDLE on every folder at once (returns when any reports mail); a Maildir is
        watched for new files; otherwise a plain sleep."""
        timeout = min(timeout, self.settings.poll_interval)
        if self.settings.maildir:
            await self._watch_maildir(timeout)
            return
        if not self._idlers or not self.settings.idle:
            await asyncio.sleep(timeout)
            return
        try:
            if self._idle_supported is None:
                first = next(iter(self._idlers.values()))
                self._idle_supported = await asyncio.to_thread(first.supports_idle)
            if not self._idle_supported:
                await asyncio.sleep(timeout)
                return
            await self._idle_all(timeout)
        except ChannelError as error:
            # The next fetch reports the real state of the server; do not spin.
            self.log.info("%s: IDLE unavailable (%s); polling", self.name, error)
            await asyncio.sleep(min(timeout, 5.0))

    async def _idle_all(self, timeout: float) -> None:
        """One IDLE per folder, each in its own thread; the first to report mail (or fail)
        ends the wait for all."""
        stop = self._stop_waiting = threading.Event()
        seen = self._fetching.seen_uidnext if self._fetching else {}
        waits = [
            asyncio.create_task(
                asyncio.to_thread(idler.wait, timeout, stop, seen.get(folder), folder)
            )
            for folder, idler in self._idlers.items()
        ]
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.set()
            await asyncio.gather(*waits, return_exceptions=True)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error

    async def _watch_maildir(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        root = Path(self.settings.maildir).expanduser()
        while loop.time() < deadline:
            stamp = await asyncio.to_thread(maildir_module.directory_stamp, root)
            if self._maildir_stamp is not None and stamp != self._maildir_stamp:
                return
            await asyncio.sleep(min(MAILDIR_CHECK_SECONDS, max(deadline - loop.time(), 0)))

    # -- the mail pipe ---------------------------------------------------------------------

    async def parse_delivery(self, data: bytes) -> InboundMessage:
        """One RFC 822 message from ``agentconsole deliver`` (Postfix, procmail, Sieve)."""
        return await asyncio.to_thread(
            parse_safely, data, self.parse_settings, fallback_date=datetime.now(UTC)
        )

    # -- sending ---------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        """Submit over SMTP and return as soon as the server accepted it (250 after DATA),
        so the core records the reply as sent before anything else. Filing the copy in the
        Sent folder is the follow-up (:meth:`after_send`, with the exact bytes sent)."""
        mail = build_reply(self.settings, message)
        _, invalid = copied_addresses(message, recipient_of(message))
        if invalid:
            self.log.warning(
                "%s: left out of the Cc of reply %s, not valid addresses: %s",
                self.name,
                message.idempotency_key,
                ", ".join(invalid),
            )
        await asyncio.to_thread(submit, self.settings, self.context.secret, mail)
        message_id = str(mail["Message-ID"])
        copy = mail.as_bytes() if self._sending is not None and self.settings.append_sent else None
        return SendResult(message_id, follow_up=copy)

    async def after_send(self, result: SendResult) -> None:
        """File the sent reply in the Sent folder, once: a copy already there (an earlier
        attempt that filed it, then crashed) is not filed again."""
        if self._sending is None or result.follow_up is None:
            return
        account = self._sending
        found = await asyncio.to_thread(account.find_in_sent, result.external_id)
        if found is None:
            self.log.warning(
                "%s: no Sent folder found to file reply %s in; set sent_folder",
                self.name,
                result.external_id,
            )
            return
        if found:  # an earlier attempt filed it, then stopped before recording that
            return
        await asyncio.to_thread(account.append_sent, result.follow_up, datetime.now(UTC))

    async def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """An earlier attempt filed in the Sent folder (searched by its Message-ID).

        A reply is filed only after it is recorded as sent, so this finds what an older
        agentconsole filed before recording; an IMAP server that cannot be asked right now
        does not hold the reply back (a repeat carries the same Message-ID)."""
        if self._sending is None:
            return None
        message_id = reply_message_id(message.idempotency_key, self.settings.from_address)
        try:
            found = await asyncio.to_thread(self._sending.find_in_sent, message_id)
        except ChannelError as error:
            self.log.info("%s: cannot look in Sent before a retry (%s)", self.name, error)
            return None
        return SendResult(message_id) if found else None

    async def close(self) -> None:
        self._stop_waiting.set()
        self._cancel_ahead()
        for account in (self._fetching, *self._idlers.values(), self._sending):
            if account is not None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(account.close)
        self._parser.close()


@dataclass(frozen=True, slots=True)
class _Ahead:
    """A batch being fetched and parsed ahead of the core."""

    task: asyncio.Task[FetchResult]
    #: ``(cursor after, more)`` once the batch is read from the mailbox (the next one may
    #: then be read while this one is parsed).
    fetched: asyncio.Future[tuple[str | None, bool]]


def _announce(
    fetched: asyncio.Future[tuple[str | None, bool]] | None, cursor: str | None, more: bool
) -> None:
    if fetched is not None and not fetched.done():
        fetched.set_result((cursor, more))


def _settle(
    fetched: asyncio.Future[tuple[str | None, bool]], task: asyncio.Task[FetchResult]
) -> None:
    """When a read-ahead ends: the batch after it learns of a failure before its fetch
    stage (instead of waiting for ever), and nobody collecting it (the core retried from
    another cursor) logs 'exception never retrieved'."""
    error = None if task.cancelled() else task.exception()
    if not fetched.done():
        if error is None:
            fetched.cancel()
        else:
            fetched.set_exception(error)
    if not fetched.cancelled():
        fetched.exception()
