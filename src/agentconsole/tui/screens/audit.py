"""The audit log of one conversation: who did what to it and when, newest first."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...models import AuditEntry
from ...output import audit_detail
from ..keys import bindings
from ..safe_text import safe_text

#: Detail kept for undo, not for reading (a reply's state before it and its draft's saved
#: replies, restored on unsend).
HIDDEN_DETAIL = frozenset({"before", "macros", "tags_before"})


def audit_text(entries: Sequence[AuditEntry], now: float) -> Text:
    """One line per entry: local time, agent, action and its detail (outside text cleaned)."""
    text = Text(end="")
    if not entries:
        text.append("Nothing recorded yet.", style="dim italic")
    for index, entry in enumerate(entries):
        if index:
            text.append("\n")
        moment = time.localtime(entry.at)
        same_day = time.localtime(now)[:3] == moment[:3]
        stamp = time.strftime("%H:%M:%S" if same_day else "%d %b %H:%M", moment)
        text.append(f"{stamp:>12}  ", style="dim")
        text.append_text(safe_text(f"{entry.agent:<10}", "green", multiline=False))
        text.append("  ")
        text.append_text(safe_text(f"{entry.action:<12}", "bold", multiline=False))
        for key, value in audit_detail(entry).items():
            if key in HIDDEN_DETAIL:
                continue
            shown = value if isinstance(value, str) else json.dumps(value)
            text.append(f"  {key}=", style="dim")
            text.append_text(safe_text(shown, multiline=False))
    return text


class AuditScreen(ModalScreen[None]):
    """Attributes down: the conversation's id and its entries (newest first)."""

    BINDINGS = bindings("audit")
    HELP_TITLE = "Audit log"

    DEFAULT_CLASSES = "dialog"
    DEFAULT_CSS = """
    AuditScreen #audit-box {
        width: 110;
        padding: 0 1;
    }
    """

    def __init__(self, conversation_id: int, entries: Sequence[AuditEntry], now: float) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.entries = list(entries)
        self.now = now

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="audit-box", classes="dialog-box"):
            count = len(self.entries)
            title = (
                f"Audit log of #{self.conversation_id} — {count} entr{'y' if count == 1 else 'ies'}"
            )
            yield Static(Text(title), id="audit-title", classes="dialog-title", markup=False)
            yield Static(audit_text(self.entries, self.now), id="audit-entries", markup=False)

    def action_close_audit(self) -> None:
        self.dismiss(None)
