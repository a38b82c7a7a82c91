"""Turning store values into short, safe pieces of text for the screen.

Everything here that shows outside data builds it with :mod:`agentconsole.sanitize`, so the
result is a Rich ``Text`` (never parsed as markup) without control sequences.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text

from ..humanize import sla_countdown, sla_fraction_left, waiting
from ..models import ConversationRow
from ..sanitize import one_line

KIND_ICONS = {"email": "✉", "chat": "◆", "forum": "▤"}


def kind_icon(kind: str) -> str:
    return KIND_ICONS.get(kind, "•")


def clock_time(timestamp: float, now: float) -> str:
    """``14:02`` today, ``Mon 14:02`` this week, ``3 Mar 14:02`` this year, else with year."""
    moment = time.localtime(timestamp)
    today = time.localtime(now)
    if moment.tm_year == today.tm_year and moment.tm_yday == today.tm_yday:
        return time.strftime("%H:%M", moment)
    if 0 <= now - timestamp < 6 * 86400:
        return time.strftime("%a %H:%M", moment)
    if moment.tm_year == today.tm_year:
        return time.strftime("%d %b %H:%M", moment).lstrip("0")
    return time.strftime("%d %b %Y %H:%M", moment).lstrip("0")


def priority_mark(rank: int) -> tuple[str, str]:
    """(mark, style) for a priority: urgent and high stand out, low is quiet."""
    return {
        0: ("‼", "bold red"),
        1: ("!", "bold dark_orange"),
        3: ("↓", "dim"),
    }.get(rank, (" ", ""))


def age_style(row: ConversationRow, now: float) -> str:
    """The colour of the waiting column. Under an SLA policy with a target running, by how
    much of its time is left: green, then yellow past half, orange in the last quarter,
    red once breached. Without one, a wait over a day is red, any other wait yellow."""
    left = sla_fraction_left(row, now)
    if left is not None:
        if left <= 0:
            return "bold red"
        if left < 0.25:
            return "bold dark_orange"
        return "yellow" if left < 0.5 else "green"
    if row.waiting_since and now - row.waiting_since > 86400:
        return "bold red"
    return "yellow" if row.waiting_since else "dim"


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis, padded with spaces."""
    if width <= 0:
        return ""
    plain = Text(text)
    plain.truncate(width, overflow="ellipsis", pad=True)
    return plain.plain


@dataclass(frozen=True, slots=True)
class QueueColumns:
    """The widths of the queue's columns at one terminal width (one place, so the header
    line and every row line up)."""

    channel: int
    contact: int
    subject: int
    age: int
    assignee: int

    @classmethod
    def at(cls, width: int) -> QueueColumns:
        channel = 14 if width >= 70 else 0
        contact = 20 if width >= 60 else 12
        age = 13
        assignee = 10 if width >= 90 else 0
        fixed = MARK_WIDTH + channel + contact + age + assignee
        return cls(channel, contact, max(8, width - fixed - 1), age, assignee)


#: The priority mark and the marker column (✔ marked, ✗ a failed reply, ✎ your draft).
MARK_WIDTH = 2


def queue_header(width: int) -> Text:
    """The line above the queue naming its columns, laid out as :func:`queue_row` lays
    out a row of ``width`` cells, from the column after the marks (the widget showing it
    is padded by :data:`MARK_WIDTH`)."""
    columns = QueueColumns.at(width)
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    if columns.channel:
        text.append(fit("Channel", columns.channel))
    text.append(fit("Contact", columns.contact))
    text.append(fit("Subject — last message", columns.subject) + " ")
    text.append(fit("Waiting", columns.age))
    if columns.assignee:
        text.append(fit("Assignee", columns.assignee))
    return text


def row_marker(row: ConversationRow) -> tuple[str, str]:
    """(marker, style) of the column after the priority: a failed reply stands out above
    all, then an unsent draft of yours."""
    if row.failed:
        return "✗", "bold red"
    if row.draft:
        return "✎", "bold yellow"
    return " ", ""


def queue_row(row: ConversationRow, now: float, width: int, snippet: Text | None = None) -> Text:
    """One line of the queue: priority, a marker (a failed reply, your draft), channel,
    contact, subject and preview (a search hit's ``snippet`` instead, when given), waiting
    time (the SLA countdown instead, when a target runs), assignee and tags, laid out to
    ``width`` cells."""
    mark, mark_style = priority_mark(row.priority)
    age = sla_countdown(row, now) or waiting(row, now)
    columns = QueueColumns.at(width)
    channel_width, contact_width = columns.channel, columns.contact
    age_width, assignee_width, subject_width = columns.age, columns.assignee, columns.subject
    tags = " ".join(f"#{one_line(tag)}" for tag in row.tags)
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(mark, style=mark_style)
    text.append(*row_marker(row))
    if channel_width:
        text.append(kind_icon(row.channel_kind) + " ", style="bold")
        text.append(fit(one_line(row.channel), channel_width - 2), style="cyan")
    text.append(
        fit(one_line(row.contact_name) or "(no name)", contact_width - 1) + " ",
        style="bold" if row.waiting_since else "",
    )
    subject = one_line(row.subject) or "(no subject)"
    preview = one_line(row.preview)
    # Tags ride in the flexible column, after the subject, so every row's fixed columns
    # line up whatever its tags.
    line = Text(no_wrap=True, end="")
    line.append(subject)
    if tags:
        line.append(" " + tags, style="magenta")
    if snippet is not None:
        line.append(" — ", style="dim")
        line.append_text(snippet)
    elif preview and preview != subject:
        line.append(" — " + preview, style="dim")
    line.truncate(subject_width, overflow="ellipsis", pad=True)
    text.append_text(line)
    text.append(" ")
    text.append(fit(age, age_width - 1) + " ", style=age_style(row, now))
    if assignee_width:
        text.append(
            fit(one_line(row.assignee or "—"), assignee_width - 1) + " ",
            style="green" if row.assignee else "dim",
        )
    return text
