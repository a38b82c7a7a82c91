"""How the CLI prints: JSON Lines for scripts (schema in the README), plain lines for people.

Outside text is neutralized either way: plain output goes through :func:`sanitize.one_line`
/ :func:`sanitize.clean`; JSON escapes every control character, C1 included.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from . import humanize, thread_reasons
from .models import (
    PRIORITIES,
    AuditEntry,
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

if TYPE_CHECKING:
    from .plugin import Option


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return (
        datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def identity_json(identity: IdentityRecord) -> dict[str, str]:
    return {"namespace": identity.namespace, "address": identity.address}


def conversation_json(
    row: ConversationRow,
    identities: list[IdentityRecord] | tuple[IdentityRecord, ...],
    now: float | None = None,
) -> dict[str, Any]:
    """A conversation for ``list --json`` and ``show --json``; ``now`` (default: the
    current time) decides whether its SLA due time has passed."""
    now = time.time() if now is None else now
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
        # Nobody waits on a closed conversation (as `list` shows it: "closed 2d").
        "waiting_since": None if row.status == "closed" else iso(row.waiting_since),
        "snooze_until": iso(row.snooze_until),
        "message_count": row.message_count,
        "sla": row.sla,
        "sla_target": row.sla_target,
        "sla_due_at": iso(row.sla_due_at),
        "sla_breached": row.sla_breached(now) if row.sla else False,
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
        "thread_reason": thread_reasons.reason_json(
            message.thread_reason, message.thread_reason_detail
        ),
        "author_role": _role(message),
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


def _role(message: MessageRecord) -> str:
    """Who wrote it: ``customer``, ``agent`` (a reply, a note) or ``bot``."""
    if message.direction == "in":
        return "customer"
    return message.author_role or "agent"


def detail_json(detail: ConversationDetail) -> dict[str, Any]:
    data = conversation_json(detail.row, detail.contact.identities)
    data["first_response_at"] = iso(detail.first_response_at)
    data["resolved_at"] = iso(detail.resolved_at)
    data["url"] = detail.url
    data["redirected_from"] = detail.redirected_from
    data["handed_off_at"] = iso(detail.handed_off_at)
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


#: Audit detail keys holding a Unix time (shown as ISO 8601 UTC).
_AUDIT_TIME_KEYS = frozenset({"at", "until", "snooze_until", "due_at"})


def _audit_value(action: str, key: str, value: Any) -> Any:
    if key in _AUDIT_TIME_KEYS and isinstance(value, int | float) and not isinstance(value, bool):
        return iso(value)
    if action == "priority" and key in ("from", "to") and isinstance(value, int):
        return priority_name(value) if 0 <= value < len(PRIORITIES) else value
    return value


def audit_detail(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry's detail as an object: times in ISO 8601 UTC, priorities by name.
    A detail that is not a JSON object (an older or foreign entry) is kept as ``{"text": …}``."""
    raw: Any = entry.detail
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw else {}
        except ValueError:
            raw = {"text": raw}
    if not isinstance(raw, dict):
        raw = {"text": raw}
    return {key: _audit_value(entry.action, key, value) for key, value in raw.items()}


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "agent": entry.agent,
        "account": entry.account,
        "action": entry.action,
        "conversation": entry.conversation_id,
        "detail": audit_detail(entry),
    }


def audit_line(entry: AuditEntry) -> str:
    """``2026-11-20T09:05:00Z  alice  priority  #42  from=normal to=high``."""
    detail = " ".join(
        f"{key}={one_line(value if isinstance(value, str) else json.dumps(value))}"
        for key, value in audit_detail(entry).items()
    )
    return (
        f"{iso(entry.at)}  {one_line(entry.who):<10}  {one_line(entry.action):<14}  "
        f"#{entry.conversation_id or '-'}  {detail}"
    ).rstrip()


def option_lines(options: Sequence[Option]) -> list[str]:
    """A plugin's options for ``plugins``: the key to write, what it means, its default.
    A secret option shows the keys it is given by (``password_command``, ``_env``,
    ``_keyring``)."""
    from .plugin import SECRET_SOURCES

    lines = []
    for option in options:
        key = (
            f"{option.name}_{SECRET_SOURCES[0]}"
            + "".join(f"|_{source}" for source in SECRET_SOURCES[1:])
            if option.secret
            else option.name
        )
        notes = []
        if option.required:
            notes.append("required")
        if option.choices and not all(choice in option.help for choice in option.choices):
            notes.append(" | ".join(option.choices))
        # The help of some options already says what the default means ("default: …").
        if (
            not option.required
            and option.default not in (None, "", [], ())
            and "default" not in option.help
        ):
            # As it is written in TOML (true, "ssl", ["INBOX"]): JSON spells these the same.
            notes.append(f"default {json.dumps(option.default)}")
        note = "; ".join(notes)
        lines.append(
            f"{one_line(key):<36} {one_line(option.help)}"
            + (f" ({one_line(note)})" if note else "")
        )
    return lines


def json_line(data: dict[str, Any]) -> str:
    """``data`` as one JSON Lines line (no newline), every control character escaped."""
    return escape_for_json(json.dumps(data, ensure_ascii=False))


def emit_json(data: dict[str, Any], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(json_line(data) + "\n")


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
    if detail.redirected_from is not None:
        lines.insert(0, f"(#{detail.redirected_from} was merged into #{row.id})")
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
