"""The command palette's provider: whatever the screen it was opened on offers.

A screen takes part by implementing :class:`CommandSource` (the main screen lists its
bindings and its views); the app never looks inside a screen to build the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    """One command. ``label`` may hold outside text (a channel or tag name): it is shown as
    literal ``Content``, never parsed as markup."""

    label: str
    help: str
    run: Callable[[], object]


@runtime_checkable
class CommandSource(Protocol):
    def palette_commands(self) -> list[PaletteEntry]: ...


class ConsoleCommands(Provider):
    """Actions (Reply, Close, Snooze, …) and views, matched fuzzily."""

    def _entries(self) -> list[PaletteEntry]:
        screen = self.screen
        return screen.palette_commands() if isinstance(screen, CommandSource) else []

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
