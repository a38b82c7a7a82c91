"""How the CLI prints: JSON Lines for scripts (schema in the README), plain lines for people.

Outside text is neutralized either way: plain output goes through :func:`sanitize.one_line`
/ :func:`sanitize.clean`; JSON escapes every control character, C1 included.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from . import humanize
from .models import (
    ChannelRecord,
    ContactRecord,
    ConversationDetail,
    ConversationRow,
    IdentityRecord,
    MessageRecord,
    SearchHit,
    priority_name,
)
from .sanitize import clean, escape_for_json, one_line


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return (
        datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def identity_json(identity: IdentityRecord) -> dict[str, str]:
    return {"namespace": identity.namespace, "address": identity.address}


def conversation_json(
    row: ConversationRow, identities: list[IdentityRecord] | tuple[IdentityRecord, ...]
) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel,
        "channel_type": row.channel_kind,
        "status": row.status,
        "priority": priority_name(row.priority),
        "assignee": row.assignee,
        "tags": list(row.tags),
        "subject": row.subject,
        "preview": row.preview,
        "contact": {
            "id": row.contact_id,
            "name": row.contact_name,
            "identities": [identity_json(i) for i in identities],
        },
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "last_message_at": iso(row.last_message_at),
        "waiting_since": iso(row.waiting_since),
        "snooze_until": iso(row.snooze_until),
        "message_count": row.message_count,
    }


def message_json(message: MessageRecord) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "author": message.author,
        "agent": message.agent,
        "sent_at": iso(message.sent_at),
        "subject": message.subject,
        "body": message.body,
        "state": message.state,
        "error": message.error,
        "external_id": message.external_id,
        "automated": message.automated,
        "parse_note": message.parse_note,
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in message.attachments
        ],
    }


def detail_json(detail: ConversationDetail) -> dict[str, Any]:
    data = conversation_json(detail.row, detail.contact.identities)
    data["first_response_at"] = iso(detail.first_response_at)
    data["resolved_at"] = iso(detail.resolved_at)
    data["url"] = detail.url
    data["messages"] = [message_json(m) for m in detail.messages]
    data["other_conversations"] = [
        {"id": r.id, "channel": r.channel, "status": r.status, "subject": r.subject}
        for r in detail.other_conversations
    ]
    return data


def hit_json(hit: SearchHit) -> dict[str, Any]:
    return {
        "message_id": hit.message_id,
        "conversation_id": hit.conversation_id,
        "sent_at": iso(hit.sent_at),
        "direction": hit.direction,
        "author": hit.author,
        "subject": hit.subject,
        "snippet": hit.snippet,
    }


def channel_json(record: ChannelRecord | None, configured: dict[str, Any]) -> dict[str, Any]:
    data = dict(configured)
    if record is not None:
        data.update(
            {
                "kind": record.kind,
                "health": record.health,
                "detail": record.health_detail,
                "health_at": iso(record.health_at),
                "held_by": record.lease_owner
                if record.lease_expires and record.lease_expires > time.time()
                else None,
                "open": record.open_count,
            }
        )
    return data


def contact_json(contact: ContactRecord) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "identities": [identity_json(i) for i in contact.identities],
    }


def emit_json(data: dict[str, Any], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(escape_for_json(json.dumps(data, ensure_ascii=False)) + "\n")


def conversation_line(row: ConversationRow) -> str:
    waiting = humanize.waiting(row, time.time())
    tags = " ".join(f"#{one_line(t)}" for t in row.tags)
    return (
        f"{row.id:>7}  {priority_name(row.priority):<6}  {row.status:<7}  "
        f"{one_line(row.channel)[:14]:<14}  {one_line(row.contact_name)[:22]:<22}  "
        f"{one_line(row.subject)[:60]:<60}  {waiting:<12}  {one_line(row.assignee or '-'):<10}  {tags}"
    ).rstrip()


def detail_text(detail: ConversationDetail) -> str:
    row = detail.row
    lines = [
        f"#{row.id} {one_line(row.subject)}",
        f"channel {one_line(row.channel)} ({row.channel_kind}) · {row.status} · "
        f"{priority_name(row.priority)} · assignee {one_line(row.assignee or '-')}"
        + (f" · tags {', '.join(one_line(t) for t in row.tags)}" if row.tags else ""),
        f"contact {one_line(detail.contact.name)} <"
        + ", ".join(f"{i.namespace}:{one_line(i.address)}" for i in detail.contact.identities)
        + ">",
        "",
    ]
    for message in detail.messages:
        label = {"in": "", "out": "reply", "note": "NOTE"}[message.direction]
        state = f" [{message.state}]" if message.state and message.state != "sent" else ""
        error = f" ({one_line(message.error)})" if message.error else ""
        lines.append(
            f"--- {iso(message.sent_at)} {one_line(message.author)} {label}{state}{error}".rstrip()
        )
        if message.parse_note:
            lines.append(f"(note: {one_line(message.parse_note)})")
        lines.append(clean(message.body).rstrip())
        for attachment in message.attachments:
            lines.append(
                f"[attachment {attachment.id}: {one_line(attachment.filename)}, "
                f"{attachment.size} bytes]"
            )
        lines.append("")
    if detail.other_conversations:
        lines.append("Other conversations of this contact:")
        for other in detail.other_conversations:
            lines.append(
                f"  #{other.id} {one_line(other.channel)} {other.status} {one_line(other.subject)}"
            )
    return "\n".join(lines)
