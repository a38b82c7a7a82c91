"""The commands that act on conversations, messages and contacts: reply, note, assign,
status, snooze, tags, priority, spam, retry, unsend, link and unlink, and reading a
message's original (``raw``) or saving an attachment (``save``). Each runs on an open store
and reports what it did (``--json``: one JSON line per thing changed)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from . import output, plugins, replies_cli
from .attachments import read_for_sending
from .cli_common import EXIT_OK, Command, query_of, read_body, report, targets
from .config import Config
from .errors import AgentConsoleError, NotFoundError, UsageError
from .models import Change, ConversationDetail, priority_rank
from .sanitize import clean, one_line
from .store import Store
from .timeparse import parse_when


def _channel_capabilities(config: Config, channel: str) -> Any:
    """The configured plugin's capabilities for ``channel``, or None when unknown here."""
    channel_config = config.channels.get(channel)
    if channel_config is None:
        return None
    source = plugins.discover(config.plugin_dir).get(channel_config.type)
    if source is None:
        return None
    try:
        return plugins.load(source).capabilities
    except AgentConsoleError:
        return None


def _reply_refusal(
    config: Config, detail: ConversationDetail, *, with_attachments: bool
) -> str | None:
    """Why ``detail``'s channel takes no reply (with files), with the link to the site for a
    read-only one; None when it does (or its plugin is unknown here)."""
    capabilities = _channel_capabilities(config, detail.row.channel)
    if capabilities is None:
        return None
    refusal: str | None = capabilities.refusal(
        detail.row.channel, with_attachments=with_attachments
    )
    if refusal is None:
        return None
    # Only a read-only channel's refusal is helped by the link to the site.
    read_only = capabilities.refusal(detail.row.channel)
    where = f": open it on the site, {detail.url}" if read_only and detail.url else ""
    return refusal + where


async def cmd_reply(args: argparse.Namespace, config: Config, store: Store) -> int:
    ids, words = targets(args)
    if words:
        raise UsageError(f"reply takes conversation ids, not {words[0]!r}")
    if args.query is not None:
        ids += [row.id for row in await store.find(query_of(args.query))]
    ids = list(dict.fromkeys(ids))
    files = [read_for_sending(path) for path in args.attach or ()]
    then = "closed" if args.close else "pending" if args.pending else None
    if args.template is not None:
        if not ids:
            raise UsageError(
                "name the conversations (ids) or select them with --query"
                if args.query is None
                else f"no conversation matches {args.query!r}"
            )
        if args.expect_last is not None and len(ids) > 1:
            raise UsageError("--expect-last is for one conversation, not several")
        return await replies_cli.reply_from_template(
            args,
            config,
            store,
            ids,
            files,
            lambda detail: _reply_refusal(config, detail, with_attachments=bool(files)),
            then,
        )
    if len(ids) != 1 or args.query is not None:
        raise UsageError(
            "reply sends a typed body to one conversation; to answer several at once use "
            "a saved reply: reply ID… --template NAME (or --query QUERY --template NAME)"
        )
    [conversation_id] = ids
    detail = await store.conversation(conversation_id)
    refusal = _reply_refusal(config, detail, with_attachments=bool(files))
    if refusal is not None:
        raise UsageError(refusal)
    message_id = await store.queue_reply(
        conversation_id,
        read_body(args),
        then_status=then,
        attachments=files,
        seen_up_to=args.expect_last,
    )
    return report(
        args,
        {"id": message_id, "conversation": conversation_id, "state": "queued"},
        f"reply {message_id} queued on {detail.row.channel}",
    )


async def cmd_raw(args: argparse.Namespace, config: Config, store: Store) -> int:
    """Write a message's stored original to stdout byte for byte (``notmuch show
    --format=raw``) — neutralised for reading when stdout is a terminal; exit 3 when the
    message is unknown or was kept without one."""
    data = await store.raw_message(args.message_id)
    if data is None:
        raise NotFoundError(
            f"message {args.message_id} has no stored original: only messages received as "
            "raw bytes (email) keep one; notes, replies and chat or forum messages are in "
            "`agentconsole show` (--json)"
        )
    if sys.stdout.isatty():
        # A customer's bytes never reach a terminal unneutralised (escape sequences could
        # retitle it or write the clipboard): shown readable here, exact when redirected.
        print(clean(data.decode("utf-8", errors="replace")))
        print(
            "agentconsole: control characters shown neutralised on a terminal; redirect "
            f"(`agentconsole raw {args.message_id} > message.eml`) for the exact bytes",
            file=sys.stderr,
        )
        return EXIT_OK
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return EXIT_OK


async def cmd_note(args: argparse.Namespace, config: Config, store: Store) -> int:
    message_id = await store.add_note(args.id, read_body(args))
    return report(args, {"id": message_id, "conversation": args.id}, f"note {message_id} added")


async def _change(
    args: argparse.Namespace,
    store: Store,
    ids: list[int],
    change: Change,
    shown: Callable[[int], Awaitable[tuple[dict[str, Any], str]]],
) -> int:
    """Apply ``change`` to ``ids`` and the conversations of ``--query``; one line (or JSON
    line) per conversation changed, a note on stderr for each that was not. Exit 0 only
    when every one changed; else the first failure's code (3 not found, 4 held, 1 already
    so)."""
    if args.query is not None:
        ids += [row.id for row in await store.find(query_of(args.query))]
    if not ids:
        raise UsageError(
            "name the conversations (ids) or select them with --query"
            if args.query is None
            else f"no conversation matches {args.query!r}"
        )
    exit_code = EXIT_OK
    for outcome in await store.apply(list(dict.fromkeys(ids)), change):
        if outcome.changed:
            data, text = await shown(outcome.conversation_id)
            report(args, data, text)
            continue
        print(
            f"agentconsole: #{outcome.conversation_id}: {clean(outcome.error or '')}",
            file=sys.stderr,
        )
        exit_code = exit_code or outcome.exit_code
    return exit_code


def _fixed(
    data: dict[str, Any], text: str
) -> Callable[[int], Awaitable[tuple[dict[str, Any], str]]]:
    """What to print for a changed conversation: ``data`` with its id, ``text`` after it."""

    async def shown(conversation_id: int) -> tuple[dict[str, Any], str]:
        return {"id": conversation_id, **data}, f"#{conversation_id} {text}"

    return shown


async def cmd_assign(args: argparse.Namespace, config: Config, store: Store) -> int:
    ids, words = targets(args)
    if args.me == bool(words) or len(words) > 1:
        raise UsageError("name one agent or give --me (not both)")
    agent = config.agent if args.me else words[0]
    change = Change("assign", assignee=agent, force=args.force)
    return await _change(
        args, store, ids, change, _fixed({"assignee": agent}, f"assigned to {agent}")
    )


async def cmd_unassign(args: argparse.Namespace, config: Config, store: Store) -> int:
    ids, words = targets(args)
    if words:
        raise UsageError(f"unassign takes conversation ids, not {words[0]!r}")
    change = Change("assign", assignee=None, force=args.force)
    return await _change(args, store, ids, change, _fixed({"assignee": None}, "unassigned"))


def status_command(status: str) -> Command:
    async def run(args: argparse.Namespace, config: Config, store: Store) -> int:
        ids, words = targets(args)
        if words:
            raise UsageError(f"{args.command} takes conversation ids, not {words[0]!r}")
        change = Change("status", status=status)
        return await _change(args, store, ids, change, _fixed({"status": status}, status))

    return run


async def cmd_snooze(args: argparse.Namespace, config: Config, store: Store) -> int:
    ids, words = targets(args)
    if not words:
        raise UsageError("say until when: snooze ID… 'tomorrow 9am' (or 'in 2h', 'mon', '17:30')")
    when = parse_when(" ".join(words))
    change = Change("status", status="snoozed", snooze_until=when.timestamp())
    data = {"status": "snoozed", "snooze_until": output.iso(when.timestamp())}
    return await _change(
        args, store, ids, change, _fixed(data, f"snoozed until {when:%a %d %b %H:%M}")
    )


async def cmd_tag(args: argparse.Namespace, config: Config, store: Store) -> int:
    ids, words = targets(args)
    add = tuple(t.removeprefix("+") for t in words)
    remove = tuple(args.remove or ())
    if not add and not remove:
        raise UsageError("give tags to add (+tag or tag) or remove (-tag)")

    async def shown(conversation_id: int) -> tuple[dict[str, Any], str]:
        row = (await store.conversation_rows([conversation_id]))[conversation_id]
        tags = " ".join(one_line(t) for t in row.tags) or "(none)"
        return {"id": conversation_id, "tags": list(row.tags)}, f"#{conversation_id} tags: {tags}"

    return await _change(args, store, ids, Change("tags", add=add, remove=remove), shown)


async def cmd_priority(args: argparse.Namespace, config: Config, store: Store) -> int:
    ids, words = targets(args)
    if len(words) != 1:
        raise UsageError("give one priority: urgent, high, normal or low")
    try:
        rank = priority_rank(words[0])
    except ValueError as error:
        raise UsageError(str(error)) from None
    level = words[0].lower()
    change = Change("priority", rank=rank)
    return await _change(args, store, ids, change, _fixed({"priority": level}, f"priority {level}"))


async def cmd_retry(args: argparse.Namespace, config: Config, store: Store) -> int:
    await store.requeue_reply(args.message_id)
    return report(
        args, {"id": args.message_id, "state": "queued"}, f"reply {args.message_id} queued again"
    )


async def cmd_unsend(args: argparse.Namespace, config: Config, store: Store) -> int:
    """Take back each reply (a bulk reply's ids all at once): a line (or JSON line) per
    reply taken back, a note on stderr for each that could not be. Exit 0 only when every
    one was; else the first refusal's code (4: its window is over or another agent wrote
    it, 3: not a reply in the outbox)."""
    outcome = await store.unsend_each(args.message_ids)
    for unsent in outcome.taken:
        files = ", ".join(one_line(name) for name in unsent.attachment_names)
        text = (
            f"reply {unsent.message_id} taken back: nothing was sent; its text is your draft"
            f" on conversation {unsent.conversation_id} again"
            + (f" (attach again: {files})" if files else "")
        )
        data = {
            "id": unsent.message_id,
            "conversation": unsent.conversation_id,
            "state": "draft",
            "attachments_to_add_again": list(unsent.attachment_names),
        }
        report(args, data, text)
    for refusal in outcome.refused:
        print(f"agentconsole: {clean(refusal.reason)}", file=sys.stderr)
    return outcome.refused[0].exit_code if outcome.refused else EXIT_OK


async def cmd_link(args: argparse.Namespace, config: Config, store: Store) -> int:
    await store.link_contacts(args.keep, args.merge)
    contact = await store.contact(args.keep)
    return report(
        args,
        output.contact_json(contact),
        f"contact {args.merge} linked into {args.keep} ({one_line(contact.name)})",
    )


async def cmd_unlink(args: argparse.Namespace, config: Config, store: Store) -> int:
    """Undo a link given either of its contacts: the one merged away (its latest merge is
    undone) or the one kept (the latest merge into it is undone)."""
    try:
        restored = await store.unlink_contact(args.contact)
    except NotFoundError:
        try:
            restored = await store.unlink_last_merge(args.contact)
        except NotFoundError:
            await store.contact(args.contact)  # no such contact at all: say that instead
            raise NotFoundError(f"contact {args.contact} has no link to undo") from None
    contact = await store.contact(restored)
    return report(
        args,
        output.contact_json(contact),
        f"contact {restored} restored ({one_line(contact.name)})",
    )


async def cmd_save(args: argparse.Namespace, config: Config, store: Store) -> int:
    from . import attachments

    filename, data = await store.attachment(args.attachment_id)
    if args.output:
        target = Path(args.output).expanduser()
    else:
        folder = attachments.find_download_dir()
        if folder is None:
            print(
                "agentconsole: no download folder ($XDG_DOWNLOAD_DIR, user-dirs.dirs or "
                "~/Downloads), so it goes in the current folder; -o PATH chooses",
                file=sys.stderr,
            )
        target = (folder or Path.cwd()) / attachments.suggested_name(filename)
    path = attachments.save(data, target, overwrite=args.force).absolute()
    return report(
        args,
        {"id": args.attachment_id, "path": str(path), "size": len(data)},
        f"saved {path} ({len(data)} bytes)",
    )


cmd_close = status_command("closed")
cmd_reopen = status_command("open")
cmd_pending = status_command("pending")


async def cmd_spam(args: argparse.Namespace, config: Config, store: Store) -> int:
    from .rules_cli import spam_command

    return await spam_command(True)(args, config, store)


async def cmd_unspam(args: argparse.Namespace, config: Config, store: Store) -> int:
    from .rules_cli import spam_command

    return await spam_command(False)(args, config, store)
