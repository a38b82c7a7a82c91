"""The rules and their replay: every configured rule (disabled ones too, broken ones with
their error); choosing one shows what ``agentconsole rules test RULE`` prints — how many
conversations it would have matched over a period, the changes it would have made, sample
ids — and a sample opens in the console.

The replay is the store's (``Store.replay_rule``, which reads only) and its lines are
``rules_cli.replay_lines``: this screen only presents them. It runs in a worker while the
screen counts the seconds, so a big store never freezes the console.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ...errors import AgentConsoleError
from ...models import ConversationRow
from ...rules.definition import Rule, RuleProblem, RuleReplay, RuleSet
from ...rules_cli import replay_lines, rule_line
from ...sanitize import one_line
from ...timeparse import parse_duration
from ..deferred import deferred
from ..keys import bindings, keys_of
from ..safe_text import safe_text

#: The period replayed unless the agent types another (as ``rules test``'s ``--since``).
DEFAULT_SINCE = "30d"
#: Seconds between two updates of the "replaying… N s" line.
TICK = 0.1
#: ``Store.replay_rule`` (rule, since, now) and ``Store.conversation_rows`` (ids).
Replay = Callable[[Rule, float, float], Awaitable[RuleReplay]]
Rows = Callable[[Sequence[int]], Awaitable[dict[int, ConversationRow]]]


class RulesScreen(ModalScreen[int | None]):
    """Attributes down: the rules, a ``replay`` call (``Store.replay_rule``), a ``rows``
    call (``Store.conversation_rows``, for the samples' subjects) and the clock. Dismissed
    with the sample conversation to open, or None."""

    BINDINGS = bindings("rules")
    HELP_TITLE = "Rules"
    DEFAULT_CLASSES = "dialog"

    DEFAULT_CSS = """
    RulesScreen #rules-box {
        width: 110;
        padding: 0 1;
    }
    RulesScreen #rules-since-row {
        height: 1;
    }
    RulesScreen #rules-since-label {
        width: auto;
    }
    RulesScreen #rules-since {
        width: 16;
        height: 1;
        border: none;
        padding: 0 1;
    }
    RulesScreen #rules-list {
        height: auto;
        max-height: 8;
    }
    RulesScreen #rules-result {
        height: auto;
        border-top: solid $accent;
    }
    RulesScreen #rules-result.-error {
        color: $error;
    }
    RulesScreen #rules-samples {
        height: auto;
        max-height: 6;
    }
    """

    def __init__(
        self,
        rules: RuleSet,
        replay: Replay,
        rows: Rows,
        clock: Callable[[], float],
        since: str = DEFAULT_SINCE,
    ) -> None:
        super().__init__()
        self.rules = rules
        self._replay_call = replay
        self._rows_call = rows
        self.clock = clock
        self.since = since
        #: One entry per line of the list: a rule, or a broken one's problem.
        self.entries: list[Rule | RuleProblem] = [*rules.rules, *rules.problems]
        #: The last replay shown (tests and the samples read it).
        self.replayed: RuleReplay | None = None
        self.sample_ids: list[int] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="rules-box", classes="dialog-box"):
            yield Static(self._title(), id="rules-title", classes="dialog-title", markup=False)
            with Horizontal(id="rules-since-row"):
                yield Static("Replay over the last ", id="rules-since-label", markup=False)
                yield Input(self.since, id="rules-since", placeholder="30d")
            yield OptionList(*self._options(), id="rules-list")
            yield Static(self._hint(), id="rules-result", markup=False)
            yield OptionList(id="rules-samples")

    def on_mount(self) -> None:
        self.query_one("#rules-samples", OptionList).display = False
        rules = self.query_one("#rules-list", OptionList)
        if self.entries:
            rules.highlighted = 0
        rules.focus()

    def _title(self) -> Text:
        count = len(self.rules.rules)
        title = Text(f"Rules — {count} rule{'s' if count != 1 else ''}", end="")
        if self.rules.problems:
            title.append(f", {len(self.rules.problems)} broken", style="red")
        title.append(
            f"\nenter: replay (changes nothing)   tab: to the samples, enter opens one   "
            f"{keys_of(self, 'close_rules')}: close",
            style="dim not bold",
        )
        return title

    def _hint(self) -> Text:
        if not self.entries:
            return Text(
                "No rules configured: add [[rules]] tables to the config"
                " (agentconsole config example shows one).",
                style="italic",
                end="",
            )
        return Text(
            "Choose a rule to see what it would have done over the stored history"
            " (as agentconsole rules test RULE).",
            style="dim",
            end="",
        )

    def _options(self) -> list[Option]:
        options = []
        for entry in self.entries:
            label = Text(end="", no_wrap=True, overflow="ellipsis")
            if isinstance(entry, Rule):
                label.append_text(safe_text(f"{entry.name[:28]:<28} ", "bold", multiline=False))
                label.append(rule_line(entry), style="" if entry.enabled else "dim")
            else:
                label.append("⚠ ", style="bold red")
                label.append_text(safe_text(f"{entry.rule[:26]:<26} ", "bold", multiline=False))
                label.append("BROKEN  ", style="bold red")
                label.append_text(safe_text(entry.message, multiline=False))
            options.append(Option(label))
        return options

    # -- replaying ----------------------------------------------------------------------

    @property
    def result(self) -> Static:
        return self.query_one("#rules-result", Static)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_list.id == "rules-samples":
            self.dismiss(self.sample_ids[event.option_index])
            return
        self.choose(event.option_index)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """A new period: the rule chosen is replayed over it."""
        event.stop()
        self.since = event.value.strip() or DEFAULT_SINCE
        index = self.query_one("#rules-list", OptionList).highlighted
        if index is not None:
            self.choose(index)

    def choose(self, index: int) -> None:
        """Show what the rule at ``index`` would have done (a broken one: its error)."""
        entry = self.entries[index]
        self._show_samples([], {})
        if isinstance(entry, RuleProblem):
            self._show_error(f"{entry.rule!r} is broken and never runs: {entry}")
            return
        try:
            seconds = parse_duration(self.since)
        except AgentConsoleError as error:
            self._show_error(f"Replay over the last …: {error}")
            return
        self.run_worker(deferred(self._replay, entry, seconds), group="replay", exclusive=True)

    async def _replay(self, rule: Rule, seconds: float) -> None:
        started = time.monotonic()
        since = self.since

        def tick() -> None:
            elapsed = time.monotonic() - started
            self.result.remove_class("-error")
            self.result.update(
                Text.assemble(
                    ("Replaying ", "italic"),
                    safe_text(repr(rule.name), "bold", multiline=False),
                    (f" over the last {one_line(since)} … {elapsed:.1f} s", "italic"),
                    ("  (nothing is changed; esc closes)", "dim"),
                )
            )

        tick()
        progress = self.set_interval(TICK, tick)
        now = self.clock()
        try:
            replayed = await self._replay_call(rule, now - seconds, now)
            rows = await self._rows_call(list(replayed.sample_ids))
        except AgentConsoleError as error:
            self._show_error(str(error))
            return
        finally:
            progress.stop()
        self.replayed = replayed
        lines = replay_lines(rule, replayed, since)
        text = Text("\n".join(lines), end="")
        text.stylize("bold", 0, len(lines[0]))
        text.append("\n  (read from the history; nothing was changed)", style="dim")
        self.result.remove_class("-error")
        self.result.update(text)
        self._show_samples(list(replayed.sample_ids), rows)

    def _show_error(self, message: str) -> None:
        self.replayed = None
        self.result.add_class("-error")
        self.result.update(safe_text(message))

    def _show_samples(self, ids: list[int], rows: dict[int, ConversationRow]) -> None:
        samples = self.query_one("#rules-samples", OptionList)
        self.sample_ids = ids
        samples.clear_options()
        for conversation_id in ids:
            label = Text(f"#{conversation_id:<6} ", style="bold", end="")
            row = rows.get(conversation_id)
            if row is not None:
                label.append(f"{row.status:<8} ")
                label.append_text(safe_text(f"{row.channel}: {row.subject}", multiline=False))
            samples.add_option(Option(label))
        samples.display = bool(ids)
        if ids:
            samples.highlighted = 0

    def action_close_rules(self) -> None:
        self.dismiss(None)
