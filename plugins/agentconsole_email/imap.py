"""IMAP with imapclient: incremental fetch by UID, IDLE, the Sent folder.

imapclient is blocking: every method here is called off the event loop (``asyncio.to_thread``)
and every socket has a timeout. One :class:`ImapAccount` holds one connection; the channel
keeps separate ones for fetching, for IDLE and for filing replies, so they never wait on each
other. Failures become :class:`TemporaryError` (network, server gone: the core retries with
backoff) or :class:`PermanentError` (login rejected, folder missing) with what to change.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from agentconsole.plugin import PermanentError, TemporaryError

from .imap_bodies import fetch_bodies
from .options import Settings, tls_context

log = logging.getLogger(__name__)

#: Messages fetched in one round trip / returned in one batch …
BATCH = 500
#: … and at most about this many bytes of them (one message always fits).
BATCH_BYTES = 64 * 1024 * 1024
#: Servers may drop an IDLE after 30 minutes (RFC 2177): it is renewed before that.
IDLE_RENEW_SECONDS = 25 * 60
#: How often a waiting IDLE looks at its stop flag.
IDLE_SLICE_SECONDS = 1.0

SecretGetter = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    folder: str
    uid: int
    raw: bytes
    internal_date: datetime | None


@dataclass(slots=True)
class FolderPosition:
    uidvalidity: int = 0
    last_uid: int = 0


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    if isinstance(error, bytes):  # pragma: no cover - imaplib sometimes carries bytes
        text = error.decode("utf-8", "replace")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class ImapAccount:
    """One IMAP connection of a channel, opened on first use and after any failure."""

    def __init__(self, settings: Settings, secret: SecretGetter, purpose: str) -> None:
        self.settings = settings
        self.secret = secret
        self.purpose = purpose
        self.client: IMAPClient | None = None
        self.capabilities: frozenset[bytes] = frozenset()
        self._selected: str | None = None
        #: (folder, its SELECT answer) when the last fetch left a backlog in that folder,
        #: still selected: the next batch is read without selecting it again.
        self._backlog: tuple[str, dict[bytes, Any]] | None = None
        # A read-ahead abandoned by the core may still be running in its thread.
        self._lock = threading.Lock()
        #: UIDNEXT per folder at the last fetch: what a waiting IDLE compares against.
        self.seen_uidnext: dict[str, int | None] = {}

    # -- connection ------------------------------------------------------------------------

    @property
    def _server(self) -> str:
        return f"{self.settings.imap_host}:{self.settings.imap_port}"

    def connect(self) -> IMAPClient:
        if self.client is not None:
            return self.client
        s = self.settings
        context = tls_context(s)
        try:
            client = IMAPClient(
                s.imap_host,
                port=s.imap_port,
                ssl=s.imap_tls == "ssl",
                ssl_context=context if s.imap_tls == "ssl" else None,
                timeout=s.timeout,
            )
        except ssl.SSLError as error:
            raise self._tls_error(error) from error
        except (OSError, IMAPClientError, imaplib.IMAP4.error) as error:
            raise TemporaryError(
                f"cannot reach IMAP server {self._server}: {_describe(error)}"
            ) from error
        try:
            if s.imap_tls == "starttls":
                try:
                    client.starttls(context)
                except ssl.SSLError as error:
                    raise self._tls_error(error) from error
                except (IMAPClientError, imaplib.IMAP4.error) as error:
                    raise PermanentError(
                        f"IMAP server {self._server} refused STARTTLS ({_describe(error)}) — "
                        f"check imap_tls and imap_port in {s.where}"
                    ) from error
            self._login(client)
            client.normalise_times = False
            _quiet_imaplib(client)
            self.capabilities = frozenset(client.capabilities())
        except BaseException:
            self._abandon(client)
            raise
        self.client = client
        self._selected = None
        return client

    def _tls_error(self, error: ssl.SSLError) -> PermanentError:
        return PermanentError(
            f"TLS with IMAP server {self._server} failed: {_describe(error)} — check imap_tls, "
            f"imap_port and tls_ca_file in {self.settings.where}"
        )

    def _login(self, client: IMAPClient) -> None:
        s = self.settings
        secret_name = "password" if s.auth == "password" else "oauth2_token"
        credential = self.secret(secret_name)  # PermanentError with a hint when it cannot
        try:
            if s.auth == "password":
                client.login(s.username, credential)
            elif s.auth == "xoauth2":
                client.oauth2_login(s.username, credential)
            else:
                client.oauthbearer_login(s.username, credential)
        except LoginError as error:
            raise PermanentError(
                f"IMAP login to {s.imap_host} as {s.username} failed: "
                f"{_login_reason(error)} — check {secret_name}_command in {s.where}"
            ) from error
        except ssl.SSLError as error:
            raise PermanentError(
                f"TLS with IMAP server {self._server} failed: {_describe(error)} — check "
                f"imap_tls and imap_port in {s.where}"
            ) from error
        except (OSError, IMAPClientError, imaplib.IMAP4.error) as error:
            raise TemporaryError(
                f"IMAP login to {self._server} interrupted: {_describe(error)}"
            ) from error

    def _abandon(self, client: IMAPClient) -> None:
        with contextlib.suppress(Exception):  # already gone
            client.shutdown()

    def close(self) -> None:
        """Log out; a connection still busy in another thread (an IDLE being stopped, an
        abandoned read-ahead) gets a moment to finish, then is cut."""
        polite = self._lock.acquire(timeout=3)
        try:
            client, self.client = self.client, None
            self._selected = None
            if client is None:
                return
            if not polite:
                self._abandon(client)
                return
            self._logout(client)
        finally:
            if polite:
                self._lock.release()

    def _logout(self, client: IMAPClient) -> None:
        try:
            client.socket().settimeout(5)  # a quick logout, never a hang
            client.logout()
        except Exception:
            self._abandon(client)

    @contextmanager
    def session(self, doing: str) -> Iterator[IMAPClient]:
        """The connected client; any network or protocol failure closes the connection and
        becomes a :class:`TemporaryError` saying what was being done."""
        with self._lock, self._connected(doing) as client:
            yield client

    @contextmanager
    def _connected(self, doing: str) -> Iterator[IMAPClient]:
        client = self.connect()
        try:
            yield client
        except (PermanentError, TemporaryError):
            raise
        except (OSError, EOFError, imaplib.IMAP4.abort, ssl.SSLError) as error:
            self.client = None
            self._abandon(client)
            raise TemporaryError(
                f"IMAP connection to {self._server} lost while {doing}: {_describe(error)}"
            ) from error
        except (IMAPClientError, imaplib.IMAP4.error) as error:
            self.client = None
            self._abandon(client)
            raise TemporaryError(
                f"IMAP server {self._server} refused {doing}: {_describe(error)}"
            ) from error

    def select(self, client: IMAPClient, folder: str, *, readonly: bool = True) -> dict[bytes, Any]:
        try:
            info = client.select_folder(folder, readonly=readonly)
        except (IMAPClientError, imaplib.IMAP4.error) as error:
            if isinstance(error, imaplib.IMAP4.abort):
                raise
            if (
                b"NONEXISTENT" in str(error).encode()
                or "doesn't exist" in str(error).lower()
                or "not exist" in str(error).lower()
            ):
                raise PermanentError(
                    f"IMAP folder {folder!r} does not exist on {self.settings.imap_host} — "
                    f"check folders in {self.settings.where}"
                ) from error
            raise
        self._selected = folder
        selected: dict[bytes, Any] = info
        return selected

    # -- fetching --------------------------------------------------------------------------

    def fetch_new(
        self,
        positions: dict[str, FolderPosition],
        limit: int | None = None,
        expect: Callable[[int], None] | None = None,
    ) -> tuple[list[FetchedMessage], dict[str, FolderPosition], bool]:
        """Up to ``limit`` messages after ``positions`` over all folders, the positions after
        them and whether more are waiting. A changed UIDVALIDITY restarts that folder.
        ``expect`` is told how many messages are about to be read, before they are."""
        limit = limit or BATCH
        bytes_left = BATCH_BYTES
        fetched: list[FetchedMessage] = []
        after = {
            folder: FolderPosition(p.uidvalidity, p.last_uid) for folder, p in positions.items()
        }
        more = False
        selected_info: dict[bytes, Any] = {}
        with self.session("fetching new mail") as client:
            backlog, self._backlog = self._backlog, None
            for folder in self.settings.folders:
                position = after.setdefault(folder, FolderPosition())
                if backlog is not None and backlog[0] == folder == self._selected:
                    # Selecting again costs the server a pass over the folder's whole index
                    # (on Dovecot most of its CPU in an initial sync of 20,000, growing with
                    # the square of it); UIDs above the UIDNEXT it gave are still found.
                    info = backlog[1]
                else:
                    info = self.select(client, folder)
                selected_info = info
                validity = int(info.get(b"UIDVALIDITY", 0) or 0)
                if validity != position.uidvalidity:
                    if position.uidvalidity:
                        log.warning(
                            "%s: UIDVALIDITY of %s changed (%s → %s): reading it again",
                            self.settings.channel,
                            folder,
                            position.uidvalidity,
                            validity,
                        )
                    position.uidvalidity, position.last_uid = validity, 0
                uidnext = info.get(b"UIDNEXT")
                self.seen_uidnext[folder] = int(uidnext) if uidnext is not None else None
                if uidnext is not None and int(uidnext) <= position.last_uid + 1:
                    continue
                if int(info.get(b"EXISTS", 1) or 0) == 0:
                    continue
                room = max(limit - len(fetched), 0) if bytes_left > 0 else 0
                uids, waiting = _uids_after(
                    client, position.last_uid, int(uidnext) if uidnext is not None else None, room
                )
                more = more or waiting
                if not uids:
                    continue
                chunk = self._within(client, uids, bytes_left)
                more = more or len(chunk) < len(uids)
                if not chunk:
                    continue
                if expect is not None:
                    expect(len(chunk))
                bodies = fetch_bodies(client, chunk)
                for uid in chunk:
                    body = bodies.get(uid)
                    if body is None:  # expunged meanwhile
                        continue
                    raw, internal_date = body
                    fetched.append(FetchedMessage(folder, uid, raw, internal_date))
                    bytes_left -= len(raw)
                position.last_uid = chunk[-1]
            if more and self._selected is not None:
                self._backlog = (self._selected, selected_info)
        return fetched, after, more

    @staticmethod
    def _within(client: IMAPClient, uids: list[int], budget: int) -> list[int]:
        """The first of ``uids`` whose sizes fit in ``budget`` bytes (at least one), so a
        mailbox of large attachments is read in batches that fit in memory.

        Only messages larger than an even share of the budget can make the batch too
        large, and a search on the server finds them (usually none): fetching every size
        would cost a round trip and a parsed response per message."""
        if len(uids) <= 1:
            return uids
        share = max(budget // len(uids), 1)
        large = sorted(
            set(client.search(["UID", f"{uids[0]}:{uids[-1]}", "LARGER", str(share)])) & set(uids)
        )
        if not large:
            return uids
        sizes = client.fetch(large, ["RFC822.SIZE"])
        total = 0
        for count, uid in enumerate(uids):
            if uid in sizes:
                total += int(sizes[uid].get(b"RFC822.SIZE", 0) or 0)
            else:
                total += share  # at most that: it was not found larger
            if count and total > budget:
                return uids[:count]
        return uids

    def flag_and_move(self, done: dict[str, list[int]]) -> None:
        """Mark read and/or move messages whose batch the core committed (only when the
        channel is configured to change the mailbox)."""
        s = self.settings
        if not (s.mark_read or s.move_to) or not done:
            return
        with self.session("marking mail read / moving it") as client:
            for folder, uids in done.items():
                if not uids:
                    continue
                self.select(client, folder, readonly=False)
                if s.mark_read:
                    client.add_flags(uids, [b"\\Seen"])
                if s.move_to and s.move_to != folder:
                    if b"MOVE" in self.capabilities:
                        client.move(uids, s.move_to)
                    else:
                        client.copy(uids, s.move_to)
                        client.add_flags(uids, [b"\\Deleted"])
                        if b"UIDPLUS" in self.capabilities:
                            client.uid_expunge(uids)
                self.select(client, folder)

    # -- IDLE ------------------------------------------------------------------------------

    def supports_idle(self) -> bool:
        with self.session("connecting"):
            return b"IDLE" in self.capabilities

    def wait(
        self,
        timeout: float,
        stop: threading.Event,
        known_uidnext: int | None = None,
        folder: str | None = None,
    ) -> bool:
        """Block until ``folder`` (default: the first) reports new mail, ``timeout`` passes
        or ``stop`` is set; True when mail may have arrived. ``known_uidnext`` is what the
        last fetch saw: mail that came between that fetch and this IDLE is reported at once.
        The IDLE is renewed before servers drop it."""
        folder = folder or self.settings.folders[0]
        deadline = time.monotonic() + timeout
        with self.session("waiting for new mail (IDLE)") as client:
            if self._selected != folder:
                uidnext = self.select(client, folder).get(b"UIDNEXT")
                if (
                    uidnext is not None
                    and known_uidnext is not None
                    and int(uidnext) > known_uidnext
                ):
                    return True
            if _announces_mail(client.noop()[1]):
                return True
            while not stop.is_set() and time.monotonic() < deadline:
                renew_at = min(deadline, time.monotonic() + IDLE_RENEW_SECONDS)
                client.idle()
                announced = False
                while not announced and not stop.is_set() and time.monotonic() < renew_at:
                    slice_seconds = min(IDLE_SLICE_SECONDS, max(renew_at - time.monotonic(), 0.01))
                    announced = _announces_mail(client.idle_check(timeout=slice_seconds))
                # On an error above the session drops the connection: no DONE needed.
                if _announces_mail(client.idle_done()[1]) or announced:
                    return True
        return False

    # -- the Sent folder -------------------------------------------------------------------

    def sent_folder(self, client: IMAPClient) -> str | None:
        if self.settings.sent_folder:
            return self.settings.sent_folder
        try:
            found = client.find_special_folder(b"\\Sent")
        except (IMAPClientError, imaplib.IMAP4.error):
            found = None
        if found:
            return str(found)
        for name in ("Sent", "Sent Items", "Sent Messages", "INBOX.Sent"):
            if client.folder_exists(name):
                return name
        return None

    def append_sent(self, raw: bytes, when: datetime) -> str | None:
        """File a reply in the Sent folder (marked read); the folder used, or None."""
        with self.session("filing the reply in the Sent folder") as client:
            folder = self.sent_folder(client)
            if folder is None:
                log.warning(
                    "%s: no Sent folder found to file replies in; set sent_folder",
                    self.settings.channel,
                )
                return None
            client.append(folder, raw, flags=(b"\\Seen",), msg_time=when)
            return folder

    def find_in_sent(self, message_id: str) -> bool | None:
        """Whether a message with this Message-ID is in the Sent folder (None: no folder)."""
        with self.session("looking for the reply in the Sent folder") as client:
            folder = self.sent_folder(client)
            if folder is None:
                return None
            self.select(client, folder)
            return bool(client.search(["HEADER", "Message-ID", message_id]))


def _quiet_imaplib(client: IMAPClient) -> None:
    """Undo imapclient's ``imaplib`` debug level 5 unless its logger shows debug lines.

    At that level imaplib formats the ``repr()`` of every response it reads, each whole
    message of a FETCH included, for a logger that then drops it: measured on a local
    Dovecot, 65–100 µs of CPU per fetched message instead of 17–19 µs."""
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0  # noqa: SLF001 - imapclient has no setting for it


def _uids_after(
    client: IMAPClient, last_uid: int, uidnext: int | None, wanted: int
) -> tuple[list[int], bool]:
    """Up to ``wanted`` UIDs after ``last_uid`` in the selected folder, in order, and
    whether more are waiting. Searched in windows of UIDs, each twice the one before:
    listing the whole backlog for every batch would cost, over an initial sync, the square
    of its size. The last window is open-ended (``N:*``), so a message whose UID is at or
    above a stale ``uidnext`` is still found."""
    found: list[int] = []
    start, window = last_uid + 1, 2 * max(wanted, BATCH)
    while True:
        end = start + window - 1
        last = uidnext is None or end >= uidnext - 1
        criteria = f"{start}:*" if last else f"{start}:{end}"
        found += sorted(
            u for u in client.search(["UID", criteria]) if u >= start and (last or u <= end)
        )
        if last or len(found) > wanted:
            return found[:wanted], len(found) > wanted
        start, window = end + 1, window * 2


def _announces_mail(responses: Any) -> bool:
    for response in responses or ():
        if (
            isinstance(response, tuple)
            and len(response) >= 2
            and response[1] in (b"EXISTS", b"RECENT")
        ):
            return True
    return False


def _login_reason(error: BaseException) -> str:
    text = str(error)
    for marker in ("[AUTHENTICATIONFAILED]", "AUTHENTICATIONFAILED"):
        if marker in text:
            return "authentication rejected"
    return text.strip().strip("b'\"") or "authentication rejected"
