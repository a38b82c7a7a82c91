"""``python -m agentconsole.tui STORE [--config FILE]``: open the TUI on a store without
the sync runner (for trying a store out, and for the terminal tests)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import config as config_module
from .app import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agentconsole.tui")
    parser.add_argument("store", type=Path, help="the store file to open")
    parser.add_argument("--config", help="config file (default: the usual places)")
    parser.add_argument("--agent", help="act as this agent")
    args = parser.parse_args(argv)
    config = config_module.load(args.config)
    if args.agent:
        config.agent = args.agent
    run(args.store, config)


if __name__ == "__main__":
    main()
