"""The demo's configuration: the three bundled demo channels, nothing to set up."""

from __future__ import annotations

from typing import Any

from ..config import Config, parse
from .plan import CHANNELS

#: Seconds between new messages per demo channel: together about one every 3.5 seconds.
INTERVALS = {"email": 12.0, "chat": 7.0, "forum": 15.0}
REPLY_DELAY = 5.0


def demo_config(agent: str | None = None) -> Config:
    """A config whose channels are ``demo-email``, ``demo-chat`` and ``demo-forum`` (type
    ``demo``), for the store :func:`agentconsole.demo.seed_store` fills. ``agent`` names the
    current agent (default: as for any config, ``$AGENTCONSOLE_AGENT`` or the Unix user).
    ``store`` is left unset: the caller chooses the throwaway file."""
    data: dict[str, Any] = {
        "channels": {
            name: {
                "type": "demo",
                "kind": kind,
                "interval": INTERVALS[kind],
                "reply_delay": REPLY_DELAY,
                "seed": position + 1,
            }
            for position, (name, kind, _) in enumerate(CHANNELS)
        },
        # A first-response target, so the report (M) shows SLA breaches.
        "sla": {"first_response": "4h"},
    }
    if agent:
        data["agent"] = {"name": agent}
    return parse(data, "<demo>")
