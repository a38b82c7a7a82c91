"""The Matrix channel: every room (or direct chat) the account is in is a conversation.

Reading: the client-server ``/sync`` API. ``wait_for_activity`` long-polls it and keeps the
answer for the next ``fetch``; the ``next_batch`` token is the cursor, which the core saves
only once the batch is committed, so a crash re-reads rather than skips. A ``limited``
timeline (more events than the sync filter returns) is back-filled with ``/messages``
from its ``prev_batch`` back to the previous sync token, so no message falls in the gap.
Encrypted events are stored with a note saying they cannot be read; images and files are
downloaded (size-capped) as attachments.

Replying: ``PUT /rooms/{room}/send/m.room.message/{txnId}`` with the reply's idempotency
key as transaction id, so the homeserver drops a retried request, and as a Matrix reply to
the message answered. The content carries ``agentconsole.key``: ``find_sent`` looks for it
in the room before a retry, and our own replies echoed back by ``/sync`` are recognised and
not stored twice.

Login: an access token, or user id + password (a new device named ``device_name``); the
token is kept in memory only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentconsole.plugin import (
    Attachment,
    Author,
    Capabilities,
    ChannelContext,
    ChannelKind,
    ChannelPlugin,
    FetchResult,
    Identity,
    InboundMessage,
    Option,
    OutboundMessage,
    PermanentError,
    SendResult,
    TemporaryError,
)

from .client import MatrixClient, MatrixError, TooLarge, path_of
from .events import (
    KEY_FIELD,
    Media,
    RoomState,
    event_url,
    json_list,
    json_object,
    json_type,
    to_inbound,
)

__all__ = ["MatrixChannel"]

CLIENT = "/_matrix/client/v3"
#: Longest single /sync long poll, in seconds.
LONG_POLL_SECONDS = 30.0
#: Most events read back to close one gap (a safety stop; a warning is logged).
GAP_CAP = 10_000
#: Pages of our own recent messages ``find_sent`` looks through.
FIND_SENT_PAGES = 5


class MatrixChannel(ChannelPlugin):
    """Matrix rooms and direct chats through the client-server API."""

    type_name = "matrix"
    kind: ChannelKind = "chat"
    capabilities = Capabilities(reply=True, attachments=True, threads=True, push=True)
    options = (
        Option(
            "homeserver", str, "homeserver base URL, e.g. https://matrix.example.com", required=True
        ),
        Option(
            "user_id", str, "the agent or bot account, e.g. @support:example.com", required=True
        ),
        Option(
            "access_token", str, "access token of the account (or give a password)", secret=True
        ),
        Option(
            "password", str, "password to log in with when there is no access token", secret=True
        ),
        Option(
            "rooms", list, "only these rooms (ids !… or aliases #…); empty: every room", default=[]
        ),
        Option(
            "auto_join",
            bool,
            "accept invitations to rooms (a customer opening a chat)",
            default=False,
        ),
        Option(
            "device_name",
            str,
            "name of the device created by a password login",
            default="agentconsole",
        ),
        Option(
            "initial_history",
            int,
            "messages per room read back on the first sync or when joining a room",
            default=50,
        ),
        Option(
            "max_attachment_bytes",
            int,
            "largest file downloaded as an attachment",
            default=25 * 1024 * 1024,
        ),
    )
    poll_interval = LONG_POLL_SECONDS

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        options = context.options
        self.homeserver = str(options["homeserver"]).rstrip("/")
        if not self.homeserver.startswith(("http://", "https://")):
            raise PermanentError(
                f"[channels.{context.name}] homeserver must be a URL (https://…), not"
                f" {self.homeserver!r}"
            )
        self.user_id = str(options["user_id"])
        if not (self.user_id.startswith("@") and ":" in self.user_id):
            raise PermanentError(
                f"[channels.{context.name}] user_id must look like @name:server, not {self.user_id!r}"
            )
        self.auto_join = bool(options.get("auto_join"))
        self.device_name = str(options.get("device_name") or "agentconsole")
        self.initial_history = int(options.get("initial_history") or 50)
        self.max_attachment_bytes = int(options.get("max_attachment_bytes") or 25 * 1024 * 1024)
        self.room_names = tuple(options.get("rooms") or ())
        self._has = {name: context.has_secret(name) for name in ("access_token", "password")}
        if not any(self._has.values()):
            raise PermanentError(
                f"[channels.{context.name}] needs access_token_command or password_command"
                " (or their _env / _keyring forms)"
            )
        #: Events per room in one /sync answer; more make the timeline ``limited``.
        self.timeline_limit = 50
        self.client = MatrixClient(self.homeserver)
        self._ready = False
        self._lock = asyncio.Lock()
        self._allowed: set[str] | None = None
        self._rooms: dict[str, RoomState] = {}
        self._joined_now: set[str] = set()
        self._position: str | None = None
        self._stash: tuple[str | None, dict[str, Any]] | None = None
        # A password login reuses the device it made last time (kept beside the store), so
        # restarts do not pile up devices on the account and transaction ids stay valid.
        self._device_file = Path(context.data_dir) / "device_id" if context.data_dir else None
        self._device_id: str | None = self._read_device_id()
        self._invites_checked = False

    # -- session ----------------------------------------------------------------------------

    def _hint(self, secret: str) -> str:
        return f"check {secret}_command in [channels.{self.name}]"

    async def _prepare(self) -> None:
        async with self._lock:
            if self._ready:
                return
            await self._login()
            if self.room_names:
                self._allowed = {await self._resolve(name) for name in self.room_names}
            self._ready = True
        if self.auto_join and not self._invites_checked:
            await self._accept_pending_invites()
            self._invites_checked = True

    async def _accept_pending_invites(self) -> None:
        """Join the rooms we were invited to while no process with ``auto_join`` ran (an
        incremental sync only reports invitations that are new since its token)."""
        quiet = json.dumps(
            {
                "room": {
                    "timeline": {"limit": 0},
                    "state": {"types": []},
                    "ephemeral": {"not_types": ["*"]},
                    "account_data": {"not_types": ["*"]},
                },
                "presence": {"not_types": ["*"]},
                "account_data": {"not_types": ["*"]},
            }
        )
        answer = await self._call(
            "GET",
            f"{CLIENT}/sync",
            params={"filter": quiet, "timeout": "0"},
            what="listing invitations",
        )
        problems: list[str] = []
        rooms = json_object(answer.get("rooms"), "rooms", problems)
        for room_id, invited in json_object(rooms.get("invite"), "rooms.invite", problems).items():
            if self._wanted(room_id):
                await self._invited(room_id, invited)
        self._log_skipped("listing invitations", problems)

    async def _login(self) -> None:
        if self._has["access_token"]:
            self.client.access_token = self.context.secret("access_token")
            try:
                whoami = await self.client.request("GET", f"{CLIENT}/account/whoami", what="whoami")
            except MatrixError as error:
                raise PermanentError(
                    f"Matrix: {self.homeserver} rejected the access token of {self.user_id}"
                    f" ({error.errcode or error.status}) — {self._hint('access_token')}"
                ) from None
            if whoami.get("user_id") != self.user_id:
                raise PermanentError(
                    f"Matrix: the access token belongs to {whoami.get('user_id')}, not"
                    f" {self.user_id} — fix user_id or access_token_command in [channels.{self.name}]"
                )
            return
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": self.user_id},
            "password": self.context.secret("password"),
            "initial_device_display_name": self.device_name,
        }
        if self._device_id:
            body["device_id"] = self._device_id  # same device: its transaction ids still count
        self.client.access_token = None
        try:
            answer = await self.client.request("POST", f"{CLIENT}/login", body=body, what="login")
        except MatrixError as error:
            raise PermanentError(
                f"Matrix login to {self.homeserver} as {self.user_id} failed:"
                f" {error.errcode or error.status} — {self._hint('password')}"
            ) from None
        self.client.access_token = str(answer["access_token"])
        self._device_id = str(answer.get("device_id") or "") or None
        self._write_device_id()
        self.user_id = str(answer.get("user_id") or self.user_id)

    def _read_device_id(self) -> str | None:
        try:
            value = (
                self._device_file.read_text(encoding="utf-8").strip() if self._device_file else ""
            )
        except OSError:
            return None
        return value or None

    def _write_device_id(self) -> None:
        if self._device_file is None or not self._device_id:
            return
        try:
            self._device_file.parent.mkdir(parents=True, exist_ok=True)
            self._device_file.write_text(self._device_id + "\n", encoding="utf-8")
        except OSError as error:  # only a convenience: a new device next time
            self.log.warning("cannot keep the Matrix device id in %s: %s", self._device_file, error)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A request; after a password login, a token the server forgot is renewed once."""
        try:
            return await self.client.request(method, path, **kwargs)
        except MatrixError as error:
            if error.errcode != "M_UNKNOWN_TOKEN":
                raise
            if not self._has["password"] or self._has["access_token"]:
                raise PermanentError(
                    f"Matrix: {self.homeserver} no longer accepts the access token of"
                    f" {self.user_id} — {self._hint('access_token')}"
                ) from None
            async with self._lock:
                await self._login()
            return await self.client.request(method, path, **kwargs)

    async def _resolve(self, name: str) -> str:
        if name.startswith("!"):
            return name
        if not name.startswith("#"):
            raise PermanentError(
                f"[channels.{self.name}] rooms: {name!r} is neither a room id (!…) nor an alias (#…)"
            )
        try:
            answer = await self._call(
                "GET", f"{CLIENT}/directory/room/{path_of(name)}", what=f"looking up {name}"
            )
        except MatrixError as error:
            raise PermanentError(
                f"Matrix: room alias {name} not found on {self.homeserver} ({error.errcode})"
            ) from None
        return str(answer["room_id"])

    # -- reading ----------------------------------------------------------------------------

    def _filter(self) -> str:
        room: dict[str, Any] = {
            "timeline": {"limit": self.timeline_limit},
            "state": {"lazy_load_members": True},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        }
        if self._allowed is not None:
            room["rooms"] = sorted(self._allowed)
        return json.dumps(
            {
                "room": room,
                "presence": {"not_types": ["*"]},
                "account_data": {"not_types": ["*"]},
            }
        )

    async def _sync(self, since: str | None, wait_seconds: float) -> dict[str, Any]:
        params = {"filter": self._filter(), "timeout": str(int(wait_seconds * 1000))}
        if since:
            params["since"] = since
        return await self._call(
            "GET", f"{CLIENT}/sync", params=params, timeout=wait_seconds + 30, what="sync"
        )

    async def fetch(self, cursor: str | None) -> FetchResult:
        """Everything after ``cursor`` (a ``next_batch`` token); ``None``: the last
        ``initial_history`` messages of every room."""
        await self._prepare()
        if self._stash is not None and self._stash[0] == cursor:
            response = self._stash[1]
        else:
            response = await self._sync(cursor, 0)
        self._stash = None
        next_batch = response.get("next_batch")
        if not isinstance(next_batch, str) or not next_batch:
            raise TemporaryError(
                f"Matrix: the /sync answer of {self.homeserver} is not usable: next_batch is"
                f" {json_type(next_batch)}, not a token (will retry)"
            )
        rooms = response.get("rooms")
        if rooms not in (None, [], {}) and not isinstance(rooms, dict):
            raise TemporaryError(
                f"Matrix: the /sync answer of {self.homeserver} is not usable: rooms is"
                f" {json_type(rooms)}, not an object (will retry)"
            )
        messages = await self._messages(response, cursor)
        self._position = next_batch
        return FetchResult(tuple(messages), self._position)

    async def wait_for_activity(self, timeout: float) -> None:
        """Long-poll ``/sync`` from the last position; its answer is kept for ``fetch``.
        On an error, return at once: ``fetch`` meets it and the core backs off."""
        if self._stash is not None or not self._ready:
            return
        since = self._position
        try:
            response = await self._sync(since, max(0.0, min(timeout, LONG_POLL_SECONDS)))
        except (TemporaryError, PermanentError) as error:
            self.log.debug("Matrix: long poll failed: %s", error)
            return
        self._stash = (since, response)

    async def _messages(self, response: dict[str, Any], since: str | None) -> list[InboundMessage]:
        """The messages of a /sync answer. A part of it with the wrong JSON type (a room, a
        timeline, an event) is skipped with a logged reason; the rest is read."""
        problems: list[str] = []
        rooms = json_object(response.get("rooms"), "rooms", problems)
        messages: list[InboundMessage] = []
        for room_id, invited in json_object(rooms.get("invite"), "rooms.invite", problems).items():
            if self._wanted(room_id):
                note = await self._invited(room_id, invited)
                if note is not None:
                    messages.append(note)
        for section in ("join", "leave"):
            entries = json_object(rooms.get(section), f"rooms.{section}", problems)
            for room_id, room in entries.items():
                if not self._wanted(room_id):
                    continue
                if not isinstance(room, dict):
                    problems.append(f"room {room_id} is {json_type(room)}, not an object")
                    continue
                messages.extend(await self._room_messages(room_id, room, since))
        self._log_skipped("sync", problems)
        return messages

    def _log_skipped(self, what: str, problems: list[str]) -> None:
        """One warning per malformed part of an answer (its text is the server's: cleaned)."""
        for problem in dict.fromkeys(problems):
            self.log.warning(
                "%s: skipped part of a Matrix %s answer from %s: %s",
                self.name,
                what,
                self.homeserver,
                problem[:300],
            )

    def _wanted(self, room_id: str) -> bool:
        return self._allowed is None or room_id in self._allowed

    async def _invited(self, room_id: str, invited: Any) -> InboundMessage | None:
        """Join when ``auto_join``; otherwise a message saying who invited us, so the
        invitation is not silently ignored."""
        state = RoomState()
        inviter = ""
        problems: list[str] = []
        invite_state = json_object(
            json_object(invited, f"invitation to {room_id}", problems).get("invite_state"),
            f"invite_state of {room_id}",
            problems,
        )
        for event in json_list(invite_state.get("events"), f"invite events of {room_id}", problems):
            state.learn(event)
            if (
                isinstance(event, dict)
                and event.get("type") == "m.room.member"
                and event.get("state_key") == self.user_id
            ):
                inviter = str(event.get("sender") or "")
        self._log_skipped("sync", problems)
        if self.auto_join:
            try:
                await self._call(
                    "POST", f"{CLIENT}/join/{path_of(room_id)}", body={}, what=f"joining {room_id}"
                )
            except MatrixError as error:
                self.log.warning("Matrix: cannot join %s: %s", room_id, error)
                return None
            self._joined_now.add(room_id)
            return None
        who = inviter or "someone"
        return InboundMessage(
            external_id=f"matrix-invite:{room_id}:{who}",
            author=Author(state.display_name(who), (Identity("matrix", who),)),
            body=f"{who} invited {self.user_id} to {state.title or room_id}.",
            sent_at=datetime.now(UTC),
            subject=state.title,
            thread_key=room_id,
            parse_note=f"invitation not accepted: auto_join is off in [channels.{self.name}]",
            url=f"https://matrix.to/#/{room_id}",
        )

    async def _room_messages(
        self, room_id: str, room: dict[str, Any], since: str | None
    ) -> list[InboundMessage]:
        state = self._rooms.setdefault(room_id, RoomState())
        problems: list[str] = []
        room_state = json_object(room.get("state"), f"state of {room_id}", problems)
        for event in json_list(room_state.get("events"), f"state events of {room_id}", problems):
            state.learn(event)
        timeline = json_object(room.get("timeline"), f"timeline of {room_id}", problems)
        events = self._events(
            json_list(timeline.get("events"), f"timeline events of {room_id}", problems),
            room_id,
            problems,
        )
        for event in events:
            if "state_key" in event:
                state.learn(event)
        self._log_skipped("sync", problems)
        if timeline.get("limited") and isinstance(timeline.get("prev_batch"), str):
            fresh = since is None or room_id in self._joined_now or self._joined_in(events)
            cap = max(0, self.initial_history - len(events)) if fresh else GAP_CAP
            older = await self._backfill(
                room_id, state, str(timeline["prev_batch"]), None if fresh else since, cap
            )
            events = older + events
        self._joined_now.discard(room_id)
        messages: list[InboundMessage] = []
        for event in events:
            parsed = to_inbound(event, room_id, state, self.user_id)
            if parsed is not None:
                message, media = parsed
                messages.append(await self._with_media(message, media) if media else message)
        return messages

    @staticmethod
    def _events(items: list[Any], room_id: str, problems: list[str]) -> list[dict[str, Any]]:
        """The events among ``items`` that are JSON objects with an event id; the others
        cannot be stored (nothing identifies them) and are skipped with a reason."""
        events: list[dict[str, Any]] = []
        for item in items:
            if not isinstance(item, dict):
                problems.append(f"an event in {room_id} is {json_type(item)}, not an object")
            elif not isinstance(item.get("event_id"), str):
                problems.append(f"an event in {room_id} has no event_id")
            else:
                events.append(item)
        return events

    def _joined_in(self, events: list[dict[str, Any]]) -> bool:
        """Whether our own join is among ``events`` (the room is new to us)."""
        ignored: list[str] = []
        for event in events:
            if event.get("type") == "m.room.member" and event.get("state_key") == self.user_id:
                unsigned = json_object(event.get("unsigned"), "unsigned", ignored)
                previous = json_object(unsigned.get("prev_content"), "prev_content", ignored)
                content = json_object(event.get("content"), "content", ignored)
                if content.get("membership") == "join" and previous.get("membership") != "join":
                    return True
        return False

    async def _backfill(
        self, room_id: str, state: RoomState, start: str, until: str | None, cap: int
    ) -> list[dict[str, Any]]:
        """Events before ``start`` (back to ``until``, at most ``cap``), oldest first."""
        events: list[dict[str, Any]] = []
        token: str | None = start
        while token and len(events) < cap:
            params = {
                "dir": "b",
                "from": token,
                "limit": str(min(100, cap - len(events))),
                "filter": json.dumps({"lazy_load_members": True}),
            }
            if until:
                params["to"] = until
            page = await self._call(
                "GET",
                f"{CLIENT}/rooms/{path_of(room_id)}/messages",
                params=params,
                what=f"reading back {room_id}",
            )
            problems: list[str] = []
            for event in json_list(page.get("state"), f"state read back in {room_id}", problems):
                state.learn(event)
            chunk = json_list(page.get("chunk"), f"events read back in {room_id}", problems)
            events.extend(self._events(chunk, room_id, problems))
            self._log_skipped("messages", problems)
            end = page.get("end")
            token = end if chunk and isinstance(end, str) and end and end != token else None
        if until and len(events) >= cap:
            self.log.warning(
                "Matrix: gap in %s longer than %d events; older ones skipped", room_id, cap
            )
        events.reverse()
        return events

    async def _with_media(self, message: InboundMessage, media: Media) -> InboundMessage:
        limit = self.max_attachment_bytes
        if media.size is not None and media.size > limit:
            return _noted(
                message,
                f"attachment {media.filename!r} ({media.size} bytes) is over"
                f" max_attachment_bytes ({limit}): not downloaded",
            )
        try:
            data = await self.client.download(media.mxc, limit)
        except TooLarge:
            return _noted(
                message,
                f"attachment {media.filename!r} is over max_attachment_bytes"
                f" ({limit}): not downloaded",
            )
        except MatrixError as error:
            return _noted(
                message, f"attachment {media.filename!r} could not be downloaded: {error}"
            )
        attachment = Attachment(media.filename, media.content_type, data)
        return replace(message, attachments=(*message.attachments, attachment))

    # -- sending ----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        """Post the reply (attachments first) with the idempotency key as transaction id."""
        await self._prepare()
        room_id = self._room_of(message)
        key = message.idempotency_key
        for number, attachment in enumerate(message.attachments):
            uri = await self.client.upload(
                attachment.data, attachment.content_type, attachment.filename
            )
            msgtype = "m.image" if attachment.content_type.startswith("image/") else "m.file"
            content = {
                "msgtype": msgtype,
                "body": attachment.filename,
                "url": uri,
                "info": {"mimetype": attachment.content_type, "size": len(attachment.data)},
                KEY_FIELD: f"{key}-file{number}",
            }
            await self._put(room_id, f"{key}-file{number}", content)
        content = {"msgtype": "m.text", "body": message.body, KEY_FIELD: key}
        if message.in_reply_to and message.in_reply_to.startswith("$"):
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": message.in_reply_to}}
        event_id = await self._put(room_id, key, content)
        return SendResult(event_id, event_url(room_id, event_id))

    def _room_of(self, message: OutboundMessage) -> str:
        room_id = message.thread_key or ""
        if not room_id.startswith("!"):
            raise PermanentError("Matrix: this conversation has no room to answer in")
        return room_id

    async def _put(self, room_id: str, transaction: str, content: dict[str, Any]) -> str:
        path = f"{CLIENT}/rooms/{path_of(room_id)}/send/m.room.message/{path_of(transaction)}"
        answer = await self._call("PUT", path, body=content, what=f"sending to {room_id}")
        return str(answer["event_id"])

    async def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """Our reply with this ``agentconsole.key`` among our recent messages in the room."""
        await self._prepare()
        room_id = self._room_of(message)
        event_filter = json.dumps({"types": ["m.room.message"], "senders": [self.user_id]})
        token: str | None = None
        for _ in range(FIND_SENT_PAGES):
            params = {"dir": "b", "limit": "100", "filter": event_filter}
            if token:
                params["from"] = token
            page = await self._call(
                "GET",
                f"{CLIENT}/rooms/{path_of(room_id)}/messages",
                params=params,
                what=f"looking for a sent reply in {room_id}",
            )
            ignored: list[str] = []
            chunk = json_list(page.get("chunk"), "chunk", ignored)
            for event in self._events(chunk, room_id, ignored):
                content = json_object(event.get("content"), "content", ignored)
                if content.get(KEY_FIELD) == message.idempotency_key:
                    return SendResult(event["event_id"], event_url(room_id, event["event_id"]))
            end = page.get("end")
            token = end if isinstance(end, str) else None
            if not token or not chunk:
                return None
        return None

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()


def _noted(message: InboundMessage, note: str) -> InboundMessage:
    return replace(message, parse_note="; ".join(filter(None, (message.parse_note, note))))
