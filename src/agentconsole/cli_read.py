"""The commands that only read: ``list``, ``show`` and ``search``.

Each is one function over a store connection (:class:`~agentconsole.store.db.Db`) that
returns the lines to print, so it runs the same two ways: on a plain read-only SQLite
connection when the store needs no write first (:func:`read_directly`: no event loop, no
write path, a few milliseconds to start), else through the store
(:meth:`~agentconsole.store.Store.run_sync`), on either backend. The output — JSON Lines
(schema in the README) or plain lines, customer text neutralised — is decided once, here
and in :mod:`.output`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import output
from .cli_common import EXIT_OK, not_closed_unless_said
from .sanitize import one_line

if TYPE_CHECKING:
    from .config import Config
    from .opening import Location
    from .query import Node
    from .store import Store
    from .store.db import Db

#: ``reader(db, args, agent, now)``: the lines a read command prints.
Reader = Callable[["Db", argparse.Namespace, str, float], list[str]]


def list_query(args: argparse.Namespace) -> Node:
    """What ``list`` selects: its QUERY, ANDed with the shorthand flags (``--tag T`` is
    ``tag:T``, ``--mine`` the Mine view); without a ``status:`` or ``id:`` term, everything
    not closed."""
    from . import query, views
    from .models import View

    terms = [query.parse(" ".join(args.query))] if args.query else []
    for flag, name in (("status", "status"), ("channel", "channel"), ("assignee", "assignee")):
        value = getattr(args, flag)
        if value:
            terms.append(query.parse_field(name, value))
    if args.tag:
        terms.append(query.parse_field("tag", args.tag))
    # --mine and --unassigned are the sidebar's views of those names, so both agree.
    for flag in ("mine", "unassigned"):
        if getattr(args, flag):
            terms.append(query.parse(views.definition(View(flag)).query))
    return not_closed_unless_said(query.all_of(*terms) if terms else query.MATCH_ALL)


def list_lines(db: Db, args: argparse.Namespace, agent: str, now: float) -> list[str]:
    """``list``: one line per conversation, most urgent first."""
    from .store import queries

    rows = queries.find(db, list_query(args), "urgent", agent, now, args.limit)
    if not args.json:
        return [output.conversation_line(row) for row in rows]
    identities = queries.identities_of(db, sorted({row.contact_id for row in rows}))
    return [
        output.json_line(output.conversation_json(row, identities.get(row.contact_id, [])))
        for row in rows
    ]


def show_lines(db: Db, args: argparse.Namespace, agent: str, now: float) -> list[str]:
    """``show ID``: the conversation with its messages (exit 3 when there is none)."""
    from .store import queries

    detail = queries.conversation_detail(db, args.id)
    if args.json:
        return [output.json_line(output.detail_json(detail))]
    return [output.detail_text(detail)]


def search_lines(db: Db, args: argparse.Namespace, agent: str, now: float) -> list[str]:
    """``search QUERY``: the messages holding its words, newest first."""
    from . import query
    from .store import queries

    hits = queries.search_hits(db, query.parse(" ".join(args.query)), agent, now, args.limit)
    if args.json:
        return [output.json_line(output.hit_json(hit)) for hit in hits]
    return [
        f"{hit.conversation_id:>7}  {output.iso(hit.sent_at)}  {one_line(hit.author)[:20]:<20}"
        f"  {one_line(hit.subject)[:40]:<40}  {one_line(hit.snippet)}"
        for hit in hits
    ]


READERS: dict[str, Reader] = {"list": list_lines, "show": show_lines, "search": search_lines}


def _print(lines: list[str]) -> int:
    sys.stdout.write("".join(line + "\n" for line in lines))
    return EXIT_OK


def read_directly(args: argparse.Namespace, config: Config, location: Location) -> int | None:
    """Run a read command on a plain read-only connection (see
    :func:`agentconsole.opening.open_for_reading`); None when the store must be opened the
    normal way (then the command runs through the store, :func:`run`)."""
    from pathlib import Path

    from .opening import open_for_reading
    from .store.readonly import read

    db = open_for_reading(config, location, wake=args.command == "list")
    if db is None:
        return None
    try:
        lines = read(db, Path(location), READERS[args.command], args, config.agent, time.time())
    finally:
        db.close()
    return _print(lines)


async def run(args: argparse.Namespace, config: Config, store: Store) -> int:
    """A read command through an open store, on any backend (``list`` wakes the snoozed
    conversations whose time has come first)."""
    if args.command == "list":
        await store.wake_snoozed()
    reader, agent, now = READERS[args.command], store.agent, time.time()
    return _print(await store.run_sync(lambda db: reader(db, args, agent, now)))
