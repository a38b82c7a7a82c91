"""``agentconsole replies [list|show NAME]`` and ``reply ID… --template NAME``: saved replies
from the command line. Listing needs no store; sending goes through the normal reply path
(``Store.queue_reply``, with its collision guard), one filled-in reply per conversation."""

from __future__ import annotations

import argparse
import select
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import output
from .config import Config
from .errors import AgentConsoleError, UsageError
from .models import Change, ConversationDetail
from .plugin import Attachment
from .replies import Agent, ReplyLibrary, SavedReply, fill, load_library
from .sanitize import clean, one_line
from .store import Store

#: Why a channel takes no reply at all (read-only, no files), or None: the CLI's own check.
ChannelRefusal = Callable[[ConversationDetail], str | None]


def library_of(config: Config) -> ReplyLibrary:
    return load_library(config.reply_folders)


def agent_of(config: Config) -> Agent:
    return Agent(config.agent, config.display_name)


def run(args: argparse.Namespace, config: Config) -> int:
    """``replies`` (``list``, the default) or ``replies show NAME``."""
    library = library_of(config)
    if args.action == "show":
        if not args.name:
            raise UsageError("replies show NAME: NAME is the file name without .md")
        return _show(args, library.get(args.name))
    if args.name:
        raise UsageError(f"replies list takes no name (did you mean `replies show {args.name}`?)")
    for reply in library.replies:
        if args.json:
            output.emit_json(_fields(reply))
        else:
            channels = one_line(",".join(reply.channels)) or "all"
            line = f"{one_line(reply.name)[:24]:<24} {one_line(reply.title)[:44]:<44} {channels}"
            if reply.template.error is not None:  # listed, but refused wherever it is used
                line += f"  ERROR {one_line(str(reply.template.error))}"
            print(line)
    for problem in library.problems:
        if args.json:
            output.emit_json(
                {"name": problem.path.stem, "path": str(problem.path), "error": problem.message}
            )
        else:
            print(
                f"{one_line(problem.path.stem)[:24]:<24} BROKEN  {clean(str(problem.path))}: {one_line(problem.message)}"
            )
    if not library.replies and not library.problems and not args.json:
        folders = ", ".join(str(f) for f in config.reply_folders)
        print(f"agentconsole: no saved replies (put NAME.md files in {folders})", file=sys.stderr)
    return 0


def _fields(reply: SavedReply) -> dict[str, Any]:
    return {
        "name": reply.name,
        "title": reply.title,
        "path": str(reply.path),
        "keywords": list(reply.keywords),
        "channels": list(reply.channels),
        "tags": list(reply.tags),
        "status": reply.status,
        "placeholders": sorted({p.field for p in reply.template.placeholders}),
        "error": str(reply.template.error) if reply.template.error else None,
    }


def _show(args: argparse.Namespace, reply: SavedReply) -> int:
    if args.json:
        output.emit_json({**_fields(reply), "body": reply.body})
    else:
        sys.stdout.write(clean(reply.body))
        if reply.template.error is not None:
            print(f"agentconsole: {reply.name}: {reply.template.error}", file=sys.stderr)
    return 0


def stdin_has_text() -> bool:
    """Whether a body was given on standard input (a terminal or a pipe nobody writes to
    is not one; the check never waits)."""
    stream = sys.stdin
    if stream is None or stream.isatty():
        return False
    try:
        ready, _, _ = select.select([stream], [], [], 0)
    except (OSError, ValueError):
        return False
    return bool(ready) and bool(stream.read().strip())


async def reply_from_template(
    args: argparse.Namespace,
    config: Config,
    store: Store,
    ids: Sequence[int],
    files: Sequence[Attachment],
    channel_refusal: ChannelRefusal,
    then_status: str | None,
) -> int:
    """Send saved reply ``args.template`` to every conversation of ``ids``: each is checked
    first (offered on its channel, every placeholder filled, the channel takes replies), and
    when one cannot be, nothing is queued for any (exit 2). Then one reply each through
    ``Store.queue_reply``; the reply's status is set with it (unless ``--close``/``--pending``
    says otherwise) and its tags changed after it."""
    if args.body_file or stdin_has_text():
        raise UsageError("give either a body (stdin or --body-file) or --template, not both")
    reply = library_of(config).get(args.template)
    agent = agent_of(config)
    filled: list[tuple[ConversationDetail, str]] = []
    refused: list[str] = []
    for conversation_id in ids:
        detail = await store.conversation(conversation_id)
        try:
            problem = channel_refusal(detail)
            if problem is not None:
                raise UsageError(problem)
            filled.append((detail, fill(reply, detail, agent)))
        except UsageError as error:
            refused.append(f"#{conversation_id}: {error}")
    if refused:
        for line in refused:
            print(f"agentconsole: {clean(line)}", file=sys.stderr)
        raise UsageError(
            f"saved reply {reply.name!r} cannot be sent to {len(refused)} of {len(ids)} "
            "conversation(s); nothing was queued"
        )
    add, remove = reply.tag_changes
    status = then_status or reply.status
    exit_code = 0
    for detail, text in filled:
        conversation_id = detail.row.id
        try:
            message_id = await store.queue_reply(
                conversation_id,
                text,
                then_status=status,
                attachments=files,
                seen_up_to=args.expect_last,
            )
            if add or remove:
                await store.apply(
                    [conversation_id], Change("tags", add=tuple(add), remove=tuple(remove))
                )
        except AgentConsoleError as error:
            print(f"agentconsole: #{conversation_id}: {clean(str(error))}", file=sys.stderr)
            exit_code = exit_code or error.exit_code
            continue
        data = {
            "id": message_id,
            "conversation": conversation_id,
            "state": "queued",
            "template": reply.name,
            "status": status,
        }
        if args.json:
            output.emit_json(data)
        else:
            print(
                clean(
                    f"reply {message_id} queued on {detail.row.channel} (#{conversation_id}, {reply.name})"
                )
            )
    return exit_code
