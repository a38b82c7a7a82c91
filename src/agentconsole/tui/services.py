"""What the screens and widgets of the TUI work with, handed down from the app.

The app opens the store and starts the sync runner; everything below it gets one
:class:`Services` at construction and never reaches up to the app for them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..config import Config
from ..plugin import Capabilities
from ..store import Store
from .drafts import DraftBuffer

log = logging.getLogger(__name__)


class Runner(Protocol):
    """What the TUI needs of :class:`agentconsole.sync.SyncRunner`."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def nudge(self, channel_name: str) -> None: ...
    def capabilities(self, channel_name: str) -> Capabilities | None: ...


class Channels:
    """The TUI's view of the sync runner: what a channel can do, and "send now".

    The runner starts after the first screen, and may not start at all (no channels, a
    broken plugin): until then every channel is assumed to reply and take files, and the
    sender's own refusal is what the agent sees.
    """

    def __init__(self) -> None:
        self.runner: Runner | None = None

    def _capabilities(self, channel: str) -> Capabilities | None:
        if self.runner is None:
            return None
        try:
            return self.runner.capabilities(channel)
        except Exception:
            log.exception("capabilities(%r) failed", channel)
            return None

    def can_reply(self, channel: str) -> bool:
        """Whether replies are possible on ``channel`` (unknown channels: assume so)."""
        capabilities = self._capabilities(channel)
        return capabilities is None or capabilities.refusal(channel) is None

    def can_attach(self, channel: str) -> bool:
        """Whether replies on ``channel`` may carry files (unknown channels: assume so)."""
        capabilities = self._capabilities(channel)
        return capabilities is None or capabilities.refusal(channel, with_attachments=True) is None

    def nudge(self, channel: str) -> None:
        """Ask the runner to send what is queued on ``channel`` now."""
        if self.runner is not None:
            try:
                self.runner.nudge(channel)
            except Exception:
                log.exception("nudge(%r) failed", channel)


@dataclass(frozen=True, slots=True)
class Services:
    """The open store, the config, unsaved drafts, the runner's answers and the clock
    (seconds since the epoch; injectable so tests show stable ages)."""

    store: Store
    config: Config
    drafts: DraftBuffer
    channels: Channels
    clock: Callable[[], float]
