"""What the command line's commands share: exit codes, how a command reports what it did,
how it reads its ids and its text.

Light on purpose (every command imports it): the query language and the output module are
imported by the functions that need them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from .errors import UsageError

# Not ``typing``: ``--help`` loads this module, and typing is a few ms of its start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .config import Config
    from .query import Node
    from .store import Store

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT = 0, 1, 2, 3, 4
#: sysexits' EX_TEMPFAIL: what a mail server takes as "keep the message, try again later".
EXIT_TEMPFAIL = 75

#: A command that runs on an open store.
Command = Callable[[argparse.Namespace, "Config", "Store"], Awaitable[int]]


def read_body(args: argparse.Namespace) -> str:
    """The text of a reply or note: ``--body-file FILE``, else standard input; UTF-8, or
    :class:`UsageError` saying where it is not (read as bytes: the locale's decoding would
    crash on a file and smuggle undecodable bytes in from a pipe)."""
    if args.body_file:
        where = args.body_file
        try:
            data = Path(args.body_file).read_bytes()
        except OSError as error:
            raise UsageError(f"cannot read {args.body_file}: {error}") from error
    else:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("give the text on standard input or with --body-file FILE")
        where = "standard input"
        data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UsageError(
            f"the text on {where} is not UTF-8 (byte 0x{data[error.start]:02x} on line {line});"
            " nothing was queued — convert it first, e.g. iconv -f latin1 -t utf-8"
        ) from error


def targets(args: argparse.Namespace) -> tuple[list[int], list[str]]:
    """(the conversation ids, the rest of the words): ids lead (``42``, ``#42``), the
    command's own words follow (``assign 4 5 bob``, ``tag 4 5 +vip``, ``snooze 4 in 2h``)."""
    words = list(args.targets)
    ids: list[int] = []
    while words and words[0].removeprefix("#").isdigit():
        ids.append(int(words.pop(0).removeprefix("#")))
    return ids, words


def not_closed_unless_said(node: Node) -> Node:
    """What ``list QUERY`` and ``--query`` select: ``node``, and not closed unless it names
    a status or a conversation (``id:``)."""
    from . import query

    names_one = any(isinstance(n, query.Field) and n.name == "id" for n in query.walk(node))
    if query.has_status_term(node) or names_one:
        return node
    return query.all_of(node, query.parse("-status:closed"))


def query_of(text: str) -> Node:
    """``--query`` selects what ``list QUERY`` shows (not closed, unless it says)."""
    from . import query

    return not_closed_unless_said(query.parse(text))


def report(args: argparse.Namespace, data: dict[str, Any], text: str) -> int:
    """Say what a command did: ``data`` as a JSON line with ``--json``, else ``text``."""
    from . import output
    from .sanitize import clean

    if args.json:
        output.emit_json(data)
    else:
        print(clean(text))
    return EXIT_OK
