"""Matrix room events → normalized inbound messages (pure functions, unit-tested fast).

Every message-like event becomes a message, including the ones we cannot read: an
encrypted event is stored with a note saying why its text is missing, a redacted one with
a note that it was deleted, one whose ``content`` is not a JSON object with a note that it
could not be read. State events, reactions and receipts are not messages.

Answers are outside data: :func:`json_object` and :func:`json_list` read a field of the
expected JSON type, or give an empty one and record why (an empty list where an object is
due is read as empty: some servers write an empty map as ``[]``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from agentconsole.plugin import Author, Identity, InboundMessage

UNREADABLE_NOTE = "this event's content could not be read ({}): its JSON is kept"
ENCRYPTED_NOTE = "encrypted — this agentconsole cannot read end-to-end encrypted rooms (no keys)"
REDACTED_NOTE = "deleted on Matrix (redacted) before agentconsole read it"
#: Key we add to the content of every reply we send, to recognise it (find_sent, echoes).
KEY_FIELD = "agentconsole.key"
MESSAGE_TYPES = ("m.room.message", "m.room.encrypted", "m.sticker")
FILE_MSGTYPES = ("m.image", "m.file", "m.video", "m.audio")


@dataclass(frozen=True, slots=True)
class Media:
    """An attachment still to download."""

    mxc: str
    filename: str
    content_type: str
    size: int | None


@dataclass(slots=True)
class RoomState:
    """What we know of a room from state events: its name and members' display names."""

    name: str = ""
    alias: str = ""
    direct: bool = False
    displaynames: dict[str, str] | None = None

    def learn(self, event: Any) -> None:
        """Take in a state event (anything else, malformed ones included, is ignored)."""
        if not isinstance(event, dict):
            return
        kind, content = event.get("type"), _mapping(event.get("content"))
        if kind == "m.room.name" and isinstance(content.get("name"), str):
            self.name = content["name"]
        elif kind == "m.room.canonical_alias" and isinstance(content.get("alias"), str):
            self.alias = content["alias"]
        elif kind == "m.room.member" and isinstance(event.get("state_key"), str):
            if self.displaynames is None:
                self.displaynames = {}
            name = content.get("displayname")
            if isinstance(name, str) and name.strip():
                self.displaynames[event["state_key"]] = name

    @property
    def title(self) -> str:
        return self.name or self.alias

    def display_name(self, user_id: str) -> str:
        return (self.displaynames or {}).get(user_id) or user_id


def event_url(room_id: str, event_id: str) -> str:
    return f"https://matrix.to/#/{quote(room_id, safe='')}/{quote(event_id, safe='')}"


def is_message(event: dict[str, Any]) -> bool:
    return event.get("type") in MESSAGE_TYPES and "state_key" not in event


def json_type(value: Any) -> str:
    """What a JSON value is, for a log line ("a list", "a string" …)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


def json_object(value: Any, what: str, problems: list[str]) -> dict[str, Any]:
    """``value`` when it is a JSON object; empty for null or an empty list; empty too for
    anything else, with "``what`` is a list, not an object" added to ``problems``."""
    if isinstance(value, dict):
        return value
    if value is None or value == []:
        return {}
    problems.append(f"{what} is {json_type(value)}, not an object")
    return {}


def json_list(value: Any, what: str, problems: list[str]) -> list[Any]:
    """``value`` when it is a JSON list; empty for null or an empty object; empty too for
    anything else, with the reason added to ``problems``."""
    if isinstance(value, list):
        return value
    if value is None or value == {}:
        return []
    problems.append(f"{what} is {json_type(value)}, not a list")
    return []


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted`` lines a client puts before the text of a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and not lines[index].strip():
        index += 1
    rest = "\n".join(lines[index:])
    return rest if rest.strip() else body


def to_inbound(
    event: dict[str, Any], room_id: str, room: RoomState, own_user_id: str
) -> tuple[InboundMessage, Media | None] | None:
    """The message an event carries and the media to fetch for it, or None when the event
    is not a message or is a reply of ours the outbox already holds."""
    if not is_message(event) or not isinstance(event.get("event_id"), str):
        return None
    raw_content = event.get("content")
    content = raw_content if isinstance(raw_content, dict) else {}
    unreadable = raw_content is not None and not isinstance(raw_content, dict)
    sender = str(event.get("sender", ""))
    from_agent = sender == own_user_id
    if from_agent and KEY_FIELD in content:
        return None  # sent through our outbox: stored there already, under this event id
    relates = _mapping(content.get("m.relates_to"))
    references: list[str] = []
    reply_to = _mapping(relates.get("m.in_reply_to")).get("event_id")
    if relates.get("rel_type") in ("m.thread", "m.replace") and isinstance(
        relates.get("event_id"), str
    ):
        references.append(relates["event_id"])
    if isinstance(reply_to, str) and reply_to not in references:
        references.append(reply_to)
    note: str | None = None
    media: Media | None = None
    automated = False
    kind = event.get("type")
    name = room.display_name(sender)
    if unreadable:
        body = "(unreadable message)"
        note = UNREADABLE_NOTE.format(f"it is {json_type(raw_content)}, not an object")
    elif kind == "m.room.encrypted":
        body = "(encrypted message)"
        note = ENCRYPTED_NOTE
    elif not content:
        body = "(deleted message)"
        note = REDACTED_NOTE
    else:
        if relates.get("rel_type") == "m.replace" and isinstance(
            content.get("m.new_content"), dict
        ):
            content = {**content, **content["m.new_content"]}
            note = "an edit of an earlier message"
        msgtype = content.get("msgtype", "m.sticker" if kind == "m.sticker" else "")
        body = str(content["body"]) if isinstance(content.get("body"), str) else ""
        if reply_to:
            body = strip_reply_fallback(body)
        if msgtype == "m.emote":
            body = f"* {name} {body}"
        elif msgtype == "m.notice":
            automated = not from_agent  # bots speak in notices
        elif msgtype in FILE_MSGTYPES or kind == "m.sticker":
            media, media_note = _media(content, msgtype)
            note = media_note or note
            body = body or (media.filename if media else "(file)")
        elif msgtype not in ("m.text", ""):
            note = f"message type {msgtype} shown as its text"
        if not body.strip():
            body = "(empty message)"
    stamp = event.get("origin_server_ts")
    sent_at = (
        datetime.fromtimestamp(stamp / 1000, UTC)
        if isinstance(stamp, (int, float))
        else datetime.now(UTC)
    )
    message = InboundMessage(
        external_id=event["event_id"],
        author=Author(name, (Identity("matrix", sender),)),
        body=body,
        sent_at=sent_at,
        subject=room.title,
        thread_key=room_id,
        references=tuple(references),
        # backslashreplace: a lone surrogate (valid JSON) is kept as the escape it came as.
        raw=json.dumps(event, ensure_ascii=False).encode("utf-8", "backslashreplace"),
        parse_note=note,
        automated=automated,
        from_agent=from_agent,
        url=event_url(room_id, event["event_id"]),
    )
    return message, media


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (events are outside data)."""
    return value if isinstance(value, dict) else {}


def _media(content: dict[str, Any], msgtype: str) -> tuple[Media | None, str | None]:
    info = _mapping(content.get("info"))
    filename = content.get("filename") or content.get("body") or "attachment"
    if not isinstance(filename, str):
        filename = "attachment"
    content_type = info.get("mimetype") if isinstance(info.get("mimetype"), str) else ""
    content_type = content_type or {"m.image": "image/png"}.get(msgtype, "application/octet-stream")
    size = info.get("size") if isinstance(info.get("size"), int) else None
    url = content.get("url")
    if isinstance(url, str) and url.startswith("mxc://"):
        return Media(url, filename, content_type, size), None
    if isinstance(content.get("file"), dict):
        return None, f"attachment {filename!r} is {ENCRYPTED_NOTE}"
    return None, f"attachment {filename!r} has no media URL"
