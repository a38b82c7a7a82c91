"""The demo: a throwaway store seeded with a realistic multichannel support day, and the
config of the bundled demo channels that keep new messages coming.

``agentconsole demo`` opens a fresh store, runs :func:`seed_store` on it and starts the TUI
with :func:`demo_config`.
"""

from __future__ import annotations

from .config import demo_config
from .seed import SeedSummary, seed_store

__all__ = ["SeedSummary", "demo_config", "seed_store"]
