"""The command palette's provider: every action of the keymap and "go to view X"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

if TYPE_CHECKING:
    from .app import AgentConsoleApp


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    """One command. ``label`` may hold outside text (a channel or tag name): it is shown as
    literal ``Content``, never parsed as markup."""

    label: str
    help: str
    run: Callable[[], object]


class ConsoleCommands(Provider):
    """Actions (Reply, Close, Snooze, …) and views, matched fuzzily."""

    def _entries(self) -> list[PaletteEntry]:
        app = cast("AgentConsoleApp", self.app)
        return app.palette_entries()

    async def discover(self) -> Hits:
        for entry in self._entries():
            yield DiscoveryHit(Content(entry.label), entry.run, text=entry.label, help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._entries():
            score, offsets = matcher.fuzzy_search.match(query, entry.label)
            if score <= 0:
                continue
            # Not matcher.highlight(): it parses the candidate as markup.
            prompt = Content(entry.label)
            for offset in offsets:
                prompt = prompt.stylize(matcher.match_style, offset, offset + 1)
            yield Hit(score, prompt, entry.run, text=entry.label, help=entry.help)
