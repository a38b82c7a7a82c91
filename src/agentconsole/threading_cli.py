"""``agentconsole merge``, ``split`` and ``move``: threading by hand, for scripts.

Each prints the change it made with its id, and takes ``--undo CHANGE`` to undo it (the
latest change of its conversations first). Exit codes: 0 done; 2 refused (one conversation
twice, two channels, a split or move that would leave a conversation empty, ``--undo`` of
another kind of change); 3 no such conversation, message or change; 4 undone already, or a
later change must be undone first.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from .errors import UsageError

# Not ``typing``: the parser imports this module for ``--help`` too.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .config import Config
    from .models import ThreadingChange
    from .store import Store

# The parser (:func:`add_commands`) imports this module, so what only the commands use
# (the output module, the sanitizer, the store) is imported when one runs.
Handler = Callable[[argparse.Namespace, "Config", "Store"], Awaitable[int]]
AddCommand = Callable[[str, "Any", str], argparse.ArgumentParser]

EXIT_OK = 0


def _id(text: str) -> int:
    """A conversation, message or change id: ``42`` or ``#42``."""
    value = text.removeprefix("#")
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"not an id: {text!r}")
    return int(value)


def add_commands(command: AddCommand) -> None:
    """Add ``merge``, ``split`` and ``move`` to the parser through the CLI's ``command``
    helper (name, handler, help)."""
    p = command(
        "merge",
        cmd_merge,
        "merge conversation OTHER into KEEP: messages, notes, tags and drafts move, OTHER "
        "redirects to KEEP (undo with --undo CHANGE)",
    )
    p.add_argument("keep", type=_id, nargs="?", metavar="KEEP", help="conversation kept")
    p.add_argument("other", type=_id, nargs="?", metavar="OTHER", help="conversation merged in")
    _undo_option(p, "merge")
    p = command(
        "split",
        cmd_split,
        "split a conversation at a message: it and the later ones go to a new conversation "
        "(--only: that message alone)",
    )
    p.add_argument("message", type=_id, nargs="?", metavar="MESSAGE_ID", help="ids: show --json")
    p.add_argument("--only", action="store_true", help="take that one message alone")
    _undo_option(p, "split")
    p = command("move", cmd_move, "move a message to another conversation of its channel")
    p.add_argument("message", type=_id, nargs="?", metavar="MESSAGE_ID", help="ids: show --json")
    p.add_argument("conversation", type=_id, nargs="?", metavar="CONVERSATION_ID")
    _undo_option(p, "move")


def _undo_option(p: argparse.ArgumentParser, kind: str) -> None:
    p.add_argument(
        "--undo",
        type=_id,
        metavar="CHANGE",
        help=f"undo {kind} CHANGE (its id is printed by {kind}, and in `audit`)",
    )


def change_json(change: ThreadingChange) -> dict[str, Any]:
    from . import output

    return {
        "change": change.id,
        "kind": change.kind,
        "source": change.source_id,
        "target": change.target_id,
        "messages": list(change.message_ids),
        "agent": change.agent,
        "at": output.iso(change.at),
        "undone": change.undone,
    }


def _done(args: argparse.Namespace, change: ThreadingChange, text: str) -> int:
    from . import output
    from .sanitize import clean

    if args.json:
        output.emit_json(change_json(change))
    else:
        undo = f"agentconsole {change.kind} --undo {change.id}"
        print(clean(f"{text} (change {change.id}; undo: {undo})"))
    return EXIT_OK


def _undone(args: argparse.Namespace, change: ThreadingChange) -> int:
    from . import output
    from .sanitize import clean

    if args.json:
        output.emit_json(change_json(change))
        return EXIT_OK
    count = len(change.message_ids)
    if change.kind == "merge":
        text = f"#{change.source_id} is back on its own with its {count} messages"
    elif change.kind == "split":
        text = f"the messages of #{change.target_id} are back in #{change.source_id}"
    else:
        text = f"message {change.message_ids[0]} is back in #{change.source_id}"
    print(clean(f"{change.kind} {change.id} undone: {text}"))
    return EXIT_OK


def _undo_alone(args: argparse.Namespace, *positional: str) -> bool:
    """Whether this is ``--undo CHANGE`` (and nothing else). Raises UsageError."""
    given = [name for name in positional if getattr(args, name) is not None]
    if args.undo is not None:
        if given:
            raise UsageError(f"{args.command} --undo CHANGE takes no other ids")
        return True
    if len(given) != len(positional):
        names = " ".join(name.upper() for name in positional)
        raise UsageError(f"usage: agentconsole {args.command} {names} (or --undo CHANGE)")
    return False


async def cmd_merge(args: argparse.Namespace, config: Config, store: Store) -> int:
    if _undo_alone(args, "keep", "other"):
        return _undone(args, await store.undo_threading(args.undo, "merge"))
    change = await store.merge_conversations(args.keep, args.other)
    moved = len(change.message_ids)
    return _done(
        args,
        change,
        f"#{change.source_id} merged into #{change.target_id}: {moved} messages moved",
    )


async def cmd_split(args: argparse.Namespace, config: Config, store: Store) -> int:
    if _undo_alone(args, "message"):
        return _undone(args, await store.undo_threading(args.undo, "split"))
    change = await store.split_conversation(args.message, only=args.only)
    return _done(
        args,
        change,
        f"#{change.source_id} split at message {args.message}: "
        f"{len(change.message_ids)} messages now in #{change.target_id}",
    )


async def cmd_move(args: argparse.Namespace, config: Config, store: Store) -> int:
    if _undo_alone(args, "message", "conversation"):
        return _undone(args, await store.undo_threading(args.undo, "move"))
    change = await store.move_message(args.message, args.conversation)
    return _done(
        args,
        change,
        f"message {args.message} moved from #{change.source_id} to #{change.target_id}",
    )
