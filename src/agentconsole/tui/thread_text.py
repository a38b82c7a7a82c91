"""The text of a conversation: header, messages, the contact's other conversations.

Pure functions from store values to Rich ``Text``; every piece of outside data goes through
:mod:`agentconsole.sanitize`. The widgets in :mod:`.widgets.conversation` lay them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text

from ..humanize import sla_countdown, span, waiting
from ..models import ConversationDetail, ConversationRow, MessageRecord, priority_name
from ..sanitize import clean, one_line
from ..thread_reasons import describe
from .formatting import age_style, clock_time, kind_icon, priority_mark
from .safe_text import safe_text

#: Longer bodies are folded on screen until shown (the stored message is untouched).
FOLDED_BODY_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class KeyHints:
    """The keys the thread's hints name (the pane passes the user's keymap, so a hint
    never names a key that was remapped)."""

    fold: str = "z"
    retry: str = "R"
    source: str = "v"


DEFAULT_HINTS = KeyHints()

DELIVERY = {
    "queued": ("◷ queued", "yellow"),
    "sending": ("↻ sending", "yellow"),
    "sent": ("✓ sent", "green"),
    "failed": ("✗ failed", "bold red"),
}


def size_label(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


_ATTRIBUTION = re.compile(
    r"^(on\b.*\bwrote:|.*\b(schrieb|a écrit|escribió|ha scritto)\s*:)$", re.IGNORECASE
)
_ORIGINAL = re.compile(r"^-{2,}\s*(original message|forwarded message)\s*-{2,}$", re.IGNORECASE)


def split_folded(body: str) -> tuple[str, int]:
    """(the new text, how many lines were folded away): the quoted history at the end of a
    reply (``>`` lines with their "On … wrote:" line, or an Outlook "Original Message"
    block) and the signature after the ``-- `` delimiter. A message that is nothing but
    quote is left whole."""
    lines = body.rstrip("\n").split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        if line == "-- " or line == "--" or _ORIGINAL.match(line.strip()):
            cut = index
            break
    start = cut
    while start > 0 and (lines[start - 1].startswith(">") or not lines[start - 1].strip()):
        start -= 1
    if any(line.startswith(">") for line in lines[start:cut]):
        if start > 0 and _ATTRIBUTION.match(lines[start - 1].strip()):
            start -= 1
        cut = start
    while cut > 0 and not lines[cut - 1].strip():
        cut -= 1
    if cut == 0:
        return body.rstrip("\n"), 0
    return "\n".join(lines[:cut]), len(lines) - cut


def body_text(
    body: str, *, fold: bool = False, quotes: bool = True, hints: KeyHints = DEFAULT_HINTS
) -> Text:
    """A message body for the screen. With ``fold``, a body past :data:`FOLDED_BODY_CHARS`
    shows its start and says how much more there is (``hints.fold`` shows it), and (with
    ``quotes``) quoted history and the signature are folded into one dim line."""
    folded = 0
    if fold and quotes:
        body, folded = split_folded(body)
    body = body.rstrip("\n")
    hidden = len(body) - FOLDED_BODY_CHARS if fold else 0
    text = safe_text(body[:FOLDED_BODY_CHARS] if hidden > 0 else body)
    if hidden > 0:
        text.append(f"\n… {hidden:,} more characters — {hints.fold} shows them", style="italic dim")
    if folded:
        text.append(
            f"\n··· {folded} quoted or signature line{'s' if folded != 1 else ''}"
            f" folded — {hints.fold} shows them",
            style="italic dim",
        )
    return text


def direction_label(message: MessageRecord) -> str:
    if message.direction == "note":
        return "Note"
    if message.direction == "out":
        return "Bot" if message.author_role == "bot" else "Reply"
    return "Automated" if message.automated else ""


def delivery_text(message: MessageRecord, hints: KeyHints = DEFAULT_HINTS) -> Text:
    """The delivery state of an outbound message (empty for others)."""
    if message.direction != "out":
        return Text(end="")
    if message.state is None:
        # Seen on the channel (our own line in a Sent folder or a chat): it was delivered.
        return Text("✓ on channel", style="green", end="")
    label, style = DELIVERY.get(message.state, (message.state, ""))
    text = Text(label, style=style, end="")
    if message.state == "failed":
        if message.error:
            text.append(": ")
            text.append_text(safe_text(message.error, multiline=False))
        text.append(f"  — {hints.retry} to retry", style="dim")
    elif message.error and message.state in ("queued", "sending"):
        text.append(" (last try: ", style="dim")
        text.append_text(safe_text(message.error, "dim", multiline=False))
        text.append(f", {message.attempts} attempts)", style="dim")
    return text


def parse_note_text(message: MessageRecord, hints: KeyHints = DEFAULT_HINTS) -> Text:
    """Why a message could not be fully read (empty when it could): shown before its body,
    so a note is never buried under what it explains."""
    text = Text(end="")
    if message.parse_note:
        text.append("⚠ Could not fully read this message: ", style="bold yellow")
        text.append_text(safe_text(message.parse_note, "yellow"))
        text.append(f"  — {hints.source} shows the original", style="dim")
        text.append("\n")
    return text


def attachments_text(message: MessageRecord) -> Text:
    text = Text(end="")
    for attachment in message.attachments:
        text.append("\n📎 ", style="dim")
        text.append_text(
            safe_text(attachment.filename or "(unnamed)", "underline", multiline=False)
        )
        text.append(f"  {size_label(attachment.size)}", style="dim")
        if attachment.content_type:
            text.append("  ")
            text.append_text(safe_text(attachment.content_type, "dim", multiline=False))
    return text


def reason_text(message: MessageRecord) -> Text:
    """Why the message is in this conversation, one dim line ("↳ joined by References
    <…>")."""
    text = Text("↳ ", style="dim italic", end="")
    text.append_text(
        safe_text(
            describe(message.thread_reason, message.thread_reason_detail),
            "dim italic",
            multiline=False,
        )
    )
    return text


def message_text(
    message: MessageRecord,
    now: float,
    *,
    fold: bool = False,
    hints: KeyHints = DEFAULT_HINTS,
    reasons: bool = False,
) -> Text:
    """A message as a block: author, time and state on the first line (with ``reasons``,
    why it is in the conversation under it), then the body (quoted history and signature
    folded when ``fold``)."""
    text = Text(end="")
    label = direction_label(message)
    if label:
        text.append(label + " · ", style="bold")
    text.append_text(safe_text(message.author or "(unknown)", "bold", multiline=False))
    if message.direction in ("out", "note") and message.agent and message.agent != message.author:
        text.append(" (")
        text.append_text(safe_text(message.agent, multiline=False))
        text.append(")")
    text.append("  " + clock_time(message.sent_at, now), style="dim")
    delivery = delivery_text(message, hints)
    if delivery:
        text.append("  ")
        text.append_text(delivery)
    text.append("\n")
    if reasons:
        text.append_text(reason_text(message))
        text.append("\n")
    text.append_text(parse_note_text(message, hints))
    text.append_text(body_text(message.body, fold=fold, hints=hints))
    text.append_text(attachments_text(message))
    return text


def chat_line(
    message: MessageRecord,
    now: float,
    *,
    fold: bool = False,
    hints: KeyHints = DEFAULT_HINTS,
    reasons: bool = False,
) -> Text:
    """A chat message, compact: ``14:02  Alice  hello`` (continuation lines indented; with
    ``reasons``, why it is in the conversation on a line of its own)."""
    text = Text(end="")
    text.append(clock_time(message.sent_at, now) + "  ", style="dim")
    author_style = "bold cyan" if message.direction == "in" else "bold green"
    if message.author_role == "bot":
        author_style = "bold magenta"
        text.append("bot ", style="magenta")
    text.append_text(safe_text(message.author or "?", author_style, multiline=False))
    text.append("  ")
    body = parse_note_text(message, hints)
    body.append_text(body_text(message.body, fold=fold, quotes=False, hints=hints))
    lines = body.split("\n")
    for index, line in enumerate(lines):
        if index:
            text.append("\n    ")
        text.append_text(line)
    delivery = delivery_text(message, hints)
    if delivery:
        text.append("  ")
        text.append_text(delivery)
    text.append_text(attachments_text(message))
    if reasons:
        text.append("\n    ")
        text.append_text(reason_text(message))
    return text


def header_text(detail: ConversationDetail, now: float) -> Text:
    row = detail.row
    text = Text(end="")
    text.append_text(safe_text(row.subject or "(no subject)", "bold", multiline=False))
    text.append("\n")
    mark, mark_style = priority_mark(row.priority)
    text.append(f"#{row.id} · ", style="dim")
    text.append(kind_icon(row.channel_kind) + " ")
    text.append_text(safe_text(row.channel, "cyan", multiline=False))
    text.append(" · ")
    status_style = {
        "open": "bold green",
        "pending": "yellow",
        "snoozed": "blue",
        "closed": "dim",
    }.get(row.status, "")
    text.append(row.status, style=status_style)
    if row.status == "snoozed" and row.snooze_until:
        text.append(f" until {clock_time(row.snooze_until, now)}", style="blue")
    text.append(" · ")
    text.append(f"{mark.strip()} {priority_name(row.priority)}".strip(), style=mark_style or "dim")
    text.append(" · ")
    if row.assignee:
        text.append("assigned ")
        text.append_text(safe_text(row.assignee, "green", multiline=False))
    else:
        text.append("unassigned", style="dim")
    for tag in row.tags:
        text.append(" ")
        text.append_text(safe_text("#" + tag, "magenta", multiline=False))
    text.append("\n")
    text.append_text(
        safe_text(detail.contact.name or row.contact_name or "(no name)", "bold", multiline=False)
    )
    if detail.contact.identities:
        first = detail.contact.identities[0]
        text.append(" <")
        text.append_text(safe_text(first.address, multiline=False))
        text.append(">")
    text.append(" · ")
    text.append(waiting(row, now), style="yellow" if row.waiting_since else "dim")
    if detail.first_response_at is not None:
        text.append(
            f" · first response after {span(detail.first_response_at - row.created_at)}",
            style="dim",
        )
    elif row.status != "closed":
        text.append(" · no response yet", style="dim")
    countdown = sla_countdown(row, now)
    if row.sla is not None:
        text.append(" · SLA ")
        text.append_text(safe_text(row.sla, multiline=False))
        if countdown:
            text.append(f" {countdown}", style=age_style(row, now))
        elif row.sla_missed:
            text.append(" missed", style="bold red")
        else:
            text.append(" paused" if row.status == "pending" else " met", style="dim")
    if detail.handed_off_at is not None:
        text.append(
            f" · handed off by the bot {clock_time(detail.handed_off_at, now)}", style="magenta"
        )
    count = len(detail.messages)
    text.append(f" · {count} message{'s' if count != 1 else ''}", style="dim")
    return text


def other_row_text(row: ConversationRow, now: float) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(kind_icon(row.channel_kind) + " ")
    text.append_text(safe_text(row.channel, "cyan", multiline=False))
    text.append(f"  {row.status:<7} ", style="dim")
    text.append(one_line(row.subject) or "(no subject)")
    text.append(f"  #{row.id} · {waiting(row, now)}", style="dim")
    return text


def contact_text(detail: ConversationDetail, now: float) -> Text:
    """The contact's identities and every other conversation, on any channel."""
    text = Text(end="")
    text.append("Contact  ", style="bold")
    text.append_text(safe_text(detail.contact.name or "(no name)", multiline=False))
    for identity in detail.contact.identities:
        text.append("\n  ")
        text.append_text(safe_text(identity.namespace, "dim", multiline=False))
        text.append("  ")
        text.append_text(safe_text(identity.address, multiline=False))
    for claim in detail.contact.claims:
        text.append("\n  ")
        text.append("claimed: ", style="yellow")
        text.append_text(safe_text(claim.address, multiline=False))
        text.append(" (unverified — L links it if it is the same person)", style="dim")
    if detail.other_conversations:
        text.append(f"\nOther conversations ({len(detail.other_conversations)})", style="bold")
        for row in detail.other_conversations:
            text.append("\n  ")
            text.append_text(other_row_text(row, now))
    else:
        text.append("\nNo other conversations.", style="dim")
    return text


def last_customer_message(detail: ConversationDetail) -> MessageRecord | None:
    for message in reversed(detail.messages):
        if message.direction == "in" and not message.automated:
            return message
    return None


def quoted(message: MessageRecord, now: float, max_lines: int | None = None) -> str:
    """The customer's message as a cleaned ``> `` quote (plain text for the editor/composer).

    Built from :func:`agentconsole.sanitize.clean` so no control sequence survives even in
    a file opened by ``$EDITOR``.
    """
    lines = clean(message.body).rstrip("\n").split("\n")
    if max_lines is not None and len(lines) > max_lines:
        lines = [*lines[:max_lines], "…"]
    author = one_line(message.author) or "the customer"
    head = f"On {clock_time(message.sent_at, now)}, {author} wrote:"
    return "\n".join([head, *("> " + line if line else ">" for line in lines)])
