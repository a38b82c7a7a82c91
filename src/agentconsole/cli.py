"""The command line: everything the screen does, for scripts.

Exit codes: 0 ok, 1 error, 2 usage (bad arguments or config), 3 not found, 4 conflict;
``deliver`` exits 75 (EX_TEMPFAIL) on every temporary failure (the store busy, locked, full
or read-only, the channel unreachable), so the mail server keeps the message.

Scripts start fast: the grammar (:mod:`.cli_parser`) names each command's handler, which is
imported only when that command runs; ``list``, ``show`` and ``search`` read a SQLite store
on a plain read-only connection when it needs no write first (:mod:`.cli_read`); Textual is
imported only when the console opens.
"""

from __future__ import annotations

import sys

from . import __version__

# Nothing else at the top: ``--version`` is answered from the constant above before any
# other module loads (``typing`` included), and every other command imports what it uses.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from .cli_common import Command
    from .config import Config
    from .opening import Location

#: The commands that only read: served on a read-only connection when the store allows.
READ_COMMANDS = ("list", "show", "search")


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    if words == ["--version"]:  # what argparse's version action prints, without argparse
        print(f"agentconsole {__version__}")
        return 0
    import contextlib
    import os

    from .cli_common import EXIT_ERROR, EXIT_OK, EXIT_TEMPFAIL
    from .cli_parser import parse
    from .errors import AgentConsoleError, StoreError

    parser, args = parse(words)
    from . import logs_later

    logs_later.configure(args.verbose)
    if args.command not in READ_COMMANDS:  # a read sets its log up if it has to (see below)
        logs_later.configure_now()
    try:
        return _dispatch(args, parser)
    except AgentConsoleError as error:
        from .query import QueryError, format_error
        from .sanitize import clean

        if isinstance(error, QueryError):
            print(f"agentconsole: {format_error(error)}", file=sys.stderr)
            return error.exit_code
        print(f"agentconsole: {clean(str(error))}", file=sys.stderr)
        if args.command == "deliver" and isinstance(error, StoreError) and error.temporary:
            # Busy, locked, full, read-only: the mail server keeps the message and retries.
            return EXIT_TEMPFAIL
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — silence the interpreter's flush
        return EXIT_OK
    except Exception as error:
        # A channel's failure (only a command that loaded a plugin can raise one).
        from .plugin import ChannelError
        from .sanitize import clean

        if not isinstance(error, ChannelError):
            raise
        print(f"agentconsole: {clean(str(error))}", file=sys.stderr)
        return EXIT_ERROR


def _dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command in ("demo", "help", "config", "plugins", None):
        from . import cli_admin
    if args.command == "demo":
        return cli_admin.cmd_demo(args)
    if args.command == "help":
        return cli_admin.cmd_help(args, parser)
    if args.command == "config":
        return cli_admin.cmd_config(args)
    from . import config as config_module
    from . import logs_later
    from .opening import store_location

    config = config_module.load(args.config)
    if args.command == "plugins":
        return cli_admin.cmd_plugins(args, config)
    if args.command == "replies":
        from . import replies_cli

        return replies_cli.run(args, config)
    if args.command == "rules" and args.action == "list":
        from . import rules_cli

        return rules_cli.list_rules(args, config)
    path = store_location(config, args.store)
    if args.command is None:
        return cli_admin.open_tui(path, config)
    if args.command == "store":
        return _store_command(args, config, path)
    if args.command in READ_COMMANDS:
        from .cli_read import read_directly
        from .opening import require_store

        require_store(config, path)
        done = read_directly(args, config, path)
        if done is not None:
            return done
    logs_later.configure_now()
    import asyncio

    return asyncio.run(_run(_handler(args.handler), args, config, path))


def _store_command(args: argparse.Namespace, config: Config, path: Location) -> int:
    import asyncio

    from . import audit_cli, cli_admin, store_cli

    if args.action == "migrate":
        return asyncio.run(store_cli.migrate(args, config.agent))
    if args.action == "init":
        return asyncio.run(store_cli.init(args, path))
    if args.action != "share":
        return asyncio.run(audit_cli.set_aliases(args, config, path))
    return cli_admin.cmd_store_share(args, path)


def _handler(handler: Any) -> Command:
    """The command's function: the parser names it ``"module:function"`` of this package."""
    if isinstance(handler, str):
        from importlib import import_module

        module, _, name = handler.partition(":")
        handler = getattr(import_module(f".{module}", __package__), name)
    return handler  # type: ignore[no-any-return]


async def _run(handler: Command, args: argparse.Namespace, config: Config, path: Location) -> int:
    from .opening import open_store, require_store

    if args.command not in ("sync", "deliver"):
        require_store(config, path)
    store = await open_store(config, path)
    try:
        return await handler(args, config, store)
    finally:
        await store.close()


if __name__ == "__main__":
    sys.exit(main())
