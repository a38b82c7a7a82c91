"""The demo: a throwaway store seeded with a realistic multichannel support day, and the
config of the demo channels that keep new messages coming.

What the day holds and which channels run come from the channel plugin registered as
``demo`` (:func:`demo_plugin`), through the plugin contract (``demo_channels``,
``seed_plan``); this package writes the plan into a store and never imports the plugin.
``agentconsole demo`` opens a fresh store, checks it holds nothing but demo data
(:func:`other_channels`), runs :func:`seed_store` on it and starts the TUI with
:func:`demo_config`.
"""

from __future__ import annotations

from .config import demo_config
from .provider import DEMO_TYPE, demo_plugin
from .seed import SeedSummary, other_channels, seed_store

__all__ = ["DEMO_TYPE", "SeedSummary", "demo_config", "demo_plugin", "other_channels", "seed_store"]
