"""The report screen: the support measures per channel, for the last 24 hours and 7 days."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...humanize import span
from ...metrics import ChannelMetrics
from ..keys import bindings
from ..safe_text import safe_text

PERIODS = (("Last 24 hours", 86400.0), ("Last 7 days", 7 * 86400.0))


def report_table(title: str, entries: Sequence[ChannelMetrics], with_sla: bool) -> Table:
    """One period's measures; channel names are outside data, shown as plain text."""
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        expand=True,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    # Channel names stay whole (up to 20 cells); long headings take two lines, so at 80
    # columns the numbers keep their room.
    longest = max((len(entry.channel) for entry in entries), default=7)
    table.add_column("Channel", min_width=min(20, max(7, longest)), no_wrap=True)
    for heading in (
        "New",
        "Backlog",
        "Oldest\nwait",
        "1st\nresponse",
        "Resolution",
        "FCR",
        "SLA\nbreaches",
    ):
        table.add_column(heading, justify="right")
    for entry in entries:
        fcr = entry.first_contact_resolution
        table.add_row(
            safe_text(entry.channel, multiline=False),
            str(entry.new),
            str(entry.backlog),
            span(entry.oldest_wait),
            span(entry.median_first_response),
            span(entry.median_resolution),
            "-" if fcr is None else f"{fcr:.0%}",
            str(entry.breaches) if with_sla else "-",
            style="bold" if entry is entries[-1] else "",
        )
    return table


class ReportScreen(ModalScreen[None]):
    """Backlog, first response, resolution, first-contact resolution and SLA breaches."""

    BINDINGS = bindings("report")
    HELP_TITLE = "Report"
    DEFAULT_CLASSES = "dialog"

    def __init__(
        self,
        periods: Sequence[tuple[str, Sequence[ChannelMetrics]]],
        with_sla: bool,
        as_of: float,
    ) -> None:
        super().__init__()
        self.as_of = as_of
        self.periods = periods
        self.with_sla = with_sla

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="report-box", classes="dialog-box"):
            for title, entries in self.periods:
                yield Static(report_table(title, entries, self.with_sla), markup=False)
            note = (
                "SLA breaches: conversations that missed a target of their [[sla]] policy"
                " (or the [sla] first_response target); `agentconsole report` has them per"
                " policy."
                if self.with_sla
                else "Set [sla] first_response or [[sla]] policies in the config to count SLA"
                " breaches."
            )
            yield Static(
                Text(
                    note + f"  ·  as of {time.strftime('%H:%M', time.localtime(self.as_of))}",
                    style="dim",
                ),
                markup=False,
            )

    def action_close_report(self) -> None:
        self.dismiss(None)
