"""The command line: everything the screen does, for scripts.

Exit codes: 0 ok, 1 error, 2 usage (bad arguments or config), 3 not found, 4 conflict;
``deliver`` exits 75 (EX_TEMPFAIL) on every temporary failure (the store busy, locked, full
or read-only, the channel unreachable), so the mail server keeps the message.
Textual is imported only when the TUI opens, so scripts start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from . import (
    __version__,
    audit_cli,
    humanize,
    logs,
    output,
    plugins,
    replies_cli,
    rules_cli,
    store_cli,
    threading_cli,
    views,
    views_cli,
)
from . import config as config_module
from . import query as query_language
from .attachments import read_for_sending
from .config import Config
from .errors import AgentConsoleError, NotFoundError, StoreError, UsageError
from .models import STATUSES, Change, ConversationDetail, View, priority_rank
from .opening import Location, open_store, store_location
from .plugin import ChannelError, PermanentError, TemporaryError
from .sanitize import clean, one_line
from .store import Store, is_postgres
from .timeparse import parse_when

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT = 0, 1, 2, 3, 4
#: sysexits' EX_TEMPFAIL: what a mail server takes as "keep the message, try again later".
EXIT_TEMPFAIL = 75

Command = Callable[[argparse.Namespace, Config, Store], Awaitable[int]]


def _read_body(args: argparse.Namespace) -> str:
    if args.body_file:
        try:
            return Path(args.body_file).read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot read {args.body_file}: {error}") from error
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("give the text on standard input or with --body-file FILE")
    return sys.stdin.read()


# -- commands ---------------------------------------------------------------------------------


def list_query(args: argparse.Namespace) -> query_language.Node:
    """What ``list`` selects: its QUERY, ANDed with the shorthand flags (``--tag T`` is
    ``tag:T``, ``--mine`` the Mine view); without a ``status:`` or ``id:`` term, everything
    not closed."""
    terms = [query_language.parse(" ".join(args.query))] if args.query else []
    for flag, name in (("status", "status"), ("channel", "channel"), ("assignee", "assignee")):
        value = getattr(args, flag)
        if value:
            terms.append(query_language.parse_field(name, value))
    if args.tag:
        terms.append(query_language.parse_field("tag", args.tag))
    # --mine and --unassigned are the sidebar's views of those names, so both agree.
    for flag in ("mine", "unassigned"):
        if getattr(args, flag):
            terms.append(query_language.parse(views.definition(View(flag)).query))
    node = query_language.all_of(*terms) if terms else query_language.MATCH_ALL
    if not query_language.has_status_term(node) and not _names_a_conversation(node):
        node = query_language.all_of(node, query_language.parse("-status:closed"))
    return node


def _names_a_conversation(node: query_language.Node) -> bool:
    return any(
        isinstance(n, query_language.Field) and n.name == "id" for n in query_language.walk(node)
    )


async def cmd_list(args: argparse.Namespace, config: Config, store: Store) -> int:
    await store.wake_snoozed()
    rows = await store.find(list_query(args), limit=args.limit)
    if args.json:
        identities = await store.identities_of(sorted({row.contact_id for row in rows}))
        for row in rows:
            output.emit_json(output.conversation_json(row, identities.get(row.contact_id, [])))
    else:
        for row in rows:
            print(output.conversation_line(row))
    return EXIT_OK


async def cmd_show(args: argparse.Namespace, config: Config, store: Store) -> int:
    detail = await store.conversation(args.id)
    if args.json:
        output.emit_json(output.detail_json(detail))
    else:
        print(output.detail_text(detail))
    return EXIT_OK


async def cmd_search(args: argparse.Namespace, config: Config, store: Store) -> int:
    hits = await store.search(query_language.parse(" ".join(args.query)), limit=args.limit)
    for hit in hits:
        if args.json:
            output.emit_json(output.hit_json(hit))
        else:
            print(
                f"{hit.conversation_id:>7}  {output.iso(hit.sent_at)}  {one_line(hit.author)[:20]:<20}"
                f"  {one_line(hit.subject)[:40]:<40}  {one_line(hit.snippet)}"
            )
    return EXIT_OK


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
    ids, words = _targets(args)
    if words:
        raise UsageError(f"reply takes conversation ids, not {words[0]!r}")
    if args.query is not None:
        ids += [row.id for row in await store.find(_query_of(args.query))]
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
        _read_body(args),
        then_status=then,
        attachments=files,
        seen_up_to=args.expect_last,
    )
    return _report(
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
    message_id = await store.add_note(args.id, _read_body(args))
    return _report(args, {"id": message_id, "conversation": args.id}, f"note {message_id} added")


def _targets(args: argparse.Namespace) -> tuple[list[int], list[str]]:
    """(the conversation ids, the rest of the words): ids lead (``42``, ``#42``), the
    command's own words follow (``assign 4 5 bob``, ``tag 4 5 +vip``, ``snooze 4 in 2h``)."""
    words = list(args.targets)
    ids: list[int] = []
    while words and words[0].removeprefix("#").isdigit():
        ids.append(int(words.pop(0).removeprefix("#")))
    return ids, words


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
        ids += [row.id for row in await store.find(_query_of(args.query))]
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
            _report(args, data, text)
            continue
        print(
            f"agentconsole: #{outcome.conversation_id}: {clean(outcome.error or '')}",
            file=sys.stderr,
        )
        exit_code = exit_code or outcome.exit_code
    return exit_code


def _query_of(text: str) -> query_language.Node:
    """``--query`` selects what ``list QUERY`` shows (not closed, unless it says)."""
    node = query_language.parse(text)
    if not query_language.has_status_term(node) and not _names_a_conversation(node):
        node = query_language.all_of(node, query_language.parse("-status:closed"))
    return node


def _fixed(
    data: dict[str, Any], text: str
) -> Callable[[int], Awaitable[tuple[dict[str, Any], str]]]:
    """What to print for a changed conversation: ``data`` with its id, ``text`` after it."""

    async def shown(conversation_id: int) -> tuple[dict[str, Any], str]:
        return {"id": conversation_id, **data}, f"#{conversation_id} {text}"

    return shown


async def cmd_assign(args: argparse.Namespace, config: Config, store: Store) -> int:
    ids, words = _targets(args)
    if args.me == bool(words) or len(words) > 1:
        raise UsageError("name one agent or give --me (not both)")
    agent = config.agent if args.me else words[0]
    change = Change("assign", assignee=agent, force=args.force)
    return await _change(
        args, store, ids, change, _fixed({"assignee": agent}, f"assigned to {agent}")
    )


async def cmd_unassign(args: argparse.Namespace, config: Config, store: Store) -> int:
    ids, words = _targets(args)
    if words:
        raise UsageError(f"unassign takes conversation ids, not {words[0]!r}")
    change = Change("assign", assignee=None, force=args.force)
    return await _change(args, store, ids, change, _fixed({"assignee": None}, "unassigned"))


def _status_command(status: str) -> Command:
    async def run(args: argparse.Namespace, config: Config, store: Store) -> int:
        ids, words = _targets(args)
        if words:
            raise UsageError(f"{args.command} takes conversation ids, not {words[0]!r}")
        change = Change("status", status=status)
        return await _change(args, store, ids, change, _fixed({"status": status}, status))

    return run


async def cmd_snooze(args: argparse.Namespace, config: Config, store: Store) -> int:
    ids, words = _targets(args)
    if not words:
        raise UsageError("say until when: snooze ID… 'tomorrow 9am' (or 'in 2h', 'mon', '17:30')")
    when = parse_when(" ".join(words))
    change = Change("status", status="snoozed", snooze_until=when.timestamp())
    data = {"status": "snoozed", "snooze_until": output.iso(when.timestamp())}
    return await _change(
        args, store, ids, change, _fixed(data, f"snoozed until {when:%a %d %b %H:%M}")
    )


async def cmd_tag(args: argparse.Namespace, config: Config, store: Store) -> int:
    ids, words = _targets(args)
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
    ids, words = _targets(args)
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
    return _report(
        args, {"id": args.message_id, "state": "queued"}, f"reply {args.message_id} queued again"
    )


async def cmd_unsend(args: argparse.Namespace, config: Config, store: Store) -> int:
    unsent = await store.unsend(args.message_id)
    files = ", ".join(one_line(name) for name in unsent.attachment_names)
    text = (
        f"reply {unsent.message_id} taken back: nothing was sent; its text is your draft on "
        f"conversation {unsent.conversation_id} again"
        + (f" (attach again: {files})" if files else "")
    )
    data = {
        "id": unsent.message_id,
        "conversation": unsent.conversation_id,
        "state": "draft",
        "attachments_to_add_again": list(unsent.attachment_names),
    }
    return _report(args, data, text)


async def cmd_link(args: argparse.Namespace, config: Config, store: Store) -> int:
    await store.link_contacts(args.keep, args.merge)
    contact = await store.contact(args.keep)
    return _report(
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
    return _report(
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
    return _report(
        args,
        {"id": args.attachment_id, "path": str(path), "size": len(data)},
        f"saved {path} ({len(data)} bytes)",
    )


async def cmd_report(args: argparse.Namespace, config: Config, store: Store) -> int:
    from . import metrics
    from .sla.report import breaches_by_policy
    from .timeparse import parse_duration

    now = time.time()
    since = now - parse_duration(args.since)
    rows = await store.conversation_timings(since)
    report = metrics.compute(
        rows,
        since=since,
        now=now,
        first_response_target=config.first_response_target,
        sla_policies=config.sla is not None,
    )
    by_policy = breaches_by_policy(rows, config.sla, since=since, now=now) if config.sla else []
    if args.json:
        for entry in report:
            output.emit_json(entry.as_json())
        for policy_entry in by_policy:
            output.emit_json(policy_entry.as_json())
        return EXIT_OK
    with_sla = config.first_response_target is not None or config.sla is not None
    sla = "SLA breaches" if with_sla else "SLA (set [[sla]] policies)"
    print(
        f"{'channel':<20} {'new':>5} {'backlog':>7} {'oldest wait':>11} {'1st response':>12}"
        f" {'resolution':>10} {'FCR':>5}  {sla}"
    )
    for entry in report:
        fcr = entry.first_contact_resolution
        print(
            f"{one_line(entry.channel)[:20]:<20} {entry.new:>5} {entry.backlog:>7}"
            f" {humanize.span(entry.oldest_wait):>11} {humanize.span(entry.median_first_response):>12}"
            f" {humanize.span(entry.median_resolution):>10} {'-' if fcr is None else f'{fcr:.0%}':>5}"
            f"  {entry.breaches if with_sla else '-'}"
        )
    if by_policy:
        print()
        print(
            f"{'SLA policy':<16} {'channel':<20} {'conversations':>13} {'breached':>8}  1st response"
        )
        for item in by_policy:
            clock = "business hours" if item.business_hours else "all hours"
            print(
                f"{one_line(item.policy)[:16]:<16} {one_line(item.channel)[:20]:<20}"
                f" {item.conversations:>13} {item.breached:>8}"
                f"  {humanize.span(item.median_first_response)} ({clock})"
            )
    return EXIT_OK


async def cmd_audit(args: argparse.Namespace, config: Config, store: Store) -> int:
    if args.verify:
        return await audit_cli.verify(args, store)
    if args.id is not None and args.id not in await store.conversation_rows([args.id]):
        raise NotFoundError(f"no conversation {args.id}")
    for entry in reversed(await store.audit_log(args.id)):
        if args.json:
            output.emit_json(output.audit_json(entry))
        else:
            print(output.audit_line(entry))
    return EXIT_OK


async def cmd_channels(args: argparse.Namespace, config: Config, store: Store) -> int:
    records = {record.name: record for record in await store.channels()}
    names = list(dict.fromkeys([*config.channels, *records]))
    for name in names:
        channel = config.channels.get(name)
        configured: dict[str, Any] = {
            "name": name,
            "type": channel.type if channel else records[name].type,
            "configured": channel is not None,
            "enabled": channel.enabled if channel else False,
        }
        if channel is not None:
            problem = _config_problem(config, name)
            if problem:
                configured["config_error"] = problem
        data = output.channel_json(records.get(name), configured)
        if args.json:
            output.emit_json(data)
        else:
            health = (
                "config error"
                if data.get("config_error")
                else "disabled (enabled = false)"
                if channel is not None and not channel.enabled
                else data.get("health", "never run")
            )
            detail = data.get("config_error") or data.get("detail") or ""
            held = f" (run by {data['held_by']})" if data.get("held_by") else ""
            print(
                f"{one_line(name):<20} {data['type']:<10} {data.get('kind', '-'):<6} "
                f"{health}{held}  {one_line(str(detail))}".rstrip()
            )
    return EXIT_OK


def _config_problem(config: Config, name: str) -> str | None:
    channel = config.channels[name]
    installed = plugins.discover(config.plugin_dir)
    source = installed.get(channel.type)
    if source is None:
        return str(config_module.unknown_type(channel, installed))
    try:
        config_module.check_channel_options(channel, plugins.load(source))
    except AgentConsoleError as error:
        return str(error)
    return None


def cmd_help(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``help query``: the query language; ``help`` alone: the commands."""
    if args.topic == "query":
        from .query.help import help_text

        sys.stdout.write(help_text())
    else:
        parser.print_help()
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    """``config example``: print the shipped example configuration, unchanged."""
    sys.stdout.write(config_module.example_text())
    return EXIT_OK


def cmd_store_share(args: argparse.Namespace, location: Location) -> int:
    """``store share --group G``: make the store a team store for one Unix group."""
    from .store import permissions

    if not args.group:
        raise UsageError("store share needs --group GROUP (the Unix group of the team's agents)")
    if is_postgres(location):
        raise UsageError(
            "store share is for a store file; on PostgreSQL, who may use the store is its "
            "roles' business (see the README's PostgreSQL section)"
        )
    path = Path(location)
    if not path.exists():
        raise NotFoundError(f"no store at {path}")
    changed = permissions.share(path, args.group)
    for file in changed:
        if args.json:
            output.emit_json({"path": str(file), "group": args.group})
        else:
            print(clean(f"{file}: shared with group {args.group}"))
    if not args.json:
        print(
            f"the store at {path} is now a team store: every member of {args.group} can read "
            "and write it (folder 2770, files 0660)"
        )
    return EXIT_OK


def cmd_plugins(args: argparse.Namespace, config: Config) -> int:
    for type_name, source in sorted(plugins.discover(config.plugin_dir).items()):
        data: dict[str, Any] = {"type": type_name, "origin": source.origin}
        try:
            plugin = plugins.load(source)
            caps = plugin.capabilities
            data.update(
                kind=plugin.kind,
                capabilities=[
                    n
                    for n in ("reply", "attachments", "threads", "read_only", "push")
                    if getattr(caps, n)
                ],
                options=[o.name for o in plugin.options],
                error=None,
            )
        except AgentConsoleError as error:
            data["error"] = str(error)
        if args.json:
            output.emit_json(data)
        elif data["error"]:
            print(f"{type_name:<12} BROKEN  {one_line(data['error'])}")
        else:
            print(
                f"{type_name:<12} {data['kind']:<6} {','.join(data['capabilities']):<40} "
                f"{one_line(source.origin)}"
            )
            for line in output.option_lines(plugin.options):
                print(f"    {line}")
    return EXIT_OK


async def cmd_sync(args: argparse.Namespace, config: Config, store: Store) -> int:
    from .sync import SyncRunner

    runner = SyncRunner(store, config)
    if not runner.channels:
        if config.channels:
            raise UsageError(
                f"no channel is enabled in {config.file}: set enabled = true in the "
                f"[channels.NAME] tables to run ({', '.join(config.channels)})"
            )
        raise UsageError(f"no channels are configured in {config.describe_file()}")
    if args.once:
        results = await runner.run_once()
        await runner.stop()
        for name, error in results.items():
            if args.json:
                output.emit_json({"channel": name, "ok": error is None, "error": error})
            else:
                print(f"{one_line(name):<20} {'ok' if error is None else one_line(error)}")
        return EXIT_OK if all(e is None for e in results.values()) else EXIT_ERROR
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await runner.start()
    print(f"syncing {', '.join(runner.channels)} (ctrl+c to stop)", file=sys.stderr)
    try:
        await stop.wait()
    finally:
        await runner.stop()
    return EXIT_OK


async def cmd_deliver(args: argparse.Namespace, config: Config, store: Store) -> int:
    """Ingest one message from standard input (a mail pipe); exit 0 only once committed."""
    from .sync import SyncRunner

    channel = config.channels.get(args.channel)
    if channel is None:
        raise UsageError(f"no channel named {args.channel!r} in {config.describe_file()}")
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("deliver reads one message on standard input (pipe it in)")
    data = sys.stdin.buffer.read()
    if not data:
        raise UsageError("deliver reads one message on standard input; it was empty")
    runner = SyncRunner(store, config)
    plugin = await runner.plugin(args.channel)
    try:
        message = await plugin.parse_delivery(data)
        report = await store.ingest(args.channel, [message], update_cursor=False)
    except PermanentError as error:
        raise UsageError(str(error)) from None
    except (TemporaryError, OSError) as error:
        # Nothing was stored: ask the mail server to keep the message and retry.
        print(f"agentconsole: not stored, try again later: {clean(str(error))}", file=sys.stderr)
        raise SystemExit(EXIT_TEMPFAIL) from None
    finally:
        await plugin.close()
    return _report(
        args,
        {
            "channel": args.channel,
            "stored": report.stored,
            "duplicates": report.duplicates,
            "conversations": list(report.touched),
        },
        f"{'stored' if report.stored else 'already stored'} in conversation "
        f"{', '.join(map(str, report.touched)) or '-'}",
    )


def _report(args: argparse.Namespace, data: dict[str, Any], text: str) -> int:
    if args.json:
        output.emit_json(data)
    else:
        print(clean(text))
    return EXIT_OK


# -- the TUI and the demo ----------------------------------------------------------------------


def open_tui(path: Location, config: Config) -> int:
    from .sync import SyncRunner
    from .tui.app import run

    run(path, config, lambda store: SyncRunner(store, config))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import demo_config, demo_plugin, other_channels, seed_store
    from .sync import SyncRunner

    plugin = demo_plugin()
    config = demo_config(args.agent, plugin)
    with contextlib.ExitStack() as stack:
        if args.store:
            path = Path(args.store).expanduser()
        elif args.seed_only:
            raise UsageError("--seed-only needs --store PATH (where to write the demo store)")
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="agentconsole-demo-"))
            path = Path(folder) / "demo.db"

        async def seed() -> None:
            store = await open_store(config, path)
            try:
                others = [] if args.force else await other_channels(store, plugin)
                if others:
                    raise UsageError(
                        f"the store {path} holds more than demo data (channels: "
                        f"{', '.join(others)}); the demo would mix its invented conversations "
                        "into it. Give a new file with --store, or add --force to mix them in"
                    )
                summary = await seed_store(store, plugin)
            finally:
                await store.close()
            if args.seed_only:
                print(
                    f"demo store written to {path}: {summary.conversations} conversations, "
                    f"{summary.messages} messages, {summary.contacts} contacts"
                )

        asyncio.run(seed())
        if args.seed_only:
            return EXIT_OK
        from .tui.app import run

        run(path, config, lambda store: SyncRunner(store, config))
    return EXIT_OK


# -- parsing ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    def common_options(suppress: bool) -> argparse.ArgumentParser:
        # Sub-commands repeat the global options with SUPPRESS defaults, so both
        # `agentconsole --json list` and `agentconsole list --json` work.
        extra: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
        flags: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {"default": False}
        options = argparse.ArgumentParser(add_help=False)
        options.add_argument(
            "--config",
            metavar="FILE",
            **extra,
            help="config file (default: $AGENTCONSOLE_CONFIG or "
            "~/.config/agentconsole/config.toml)",
        )
        options.add_argument(
            "--store",
            metavar="STORE",
            **extra,
            help="store file or postgresql:// URL (default: $AGENTCONSOLE_STORE, the config's store, "
            "or ~/.local/share/agentconsole/store.db)",
        )
        options.add_argument(
            "--json", action="store_true", **flags, help="print JSON Lines (schema in the README)"
        )
        options.add_argument(
            "-v", "--verbose", action="store_true", **flags, help="log diagnostics to stderr"
        )
        return options

    common, sub_common = common_options(False), common_options(True)

    parser = argparse.ArgumentParser(
        prog="agentconsole",
        description="Triage and answer email, chat and forum messages in one keyboard-driven queue. "
        "With no command, opens the console on your store.",
        parents=[common],
        epilog="Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict.",
    )
    parser.add_argument("--version", action="version", version=f"agentconsole {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[sub_common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    def with_id(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("id", type=int, help="conversation id")
        return p

    p = command("demo", None, "open the console on a throwaway demo store, live")
    p.add_argument(
        "--seed-only", action="store_true", help="write the demo store (needs --store) and exit"
    )
    p.add_argument("--agent", help="act as this agent (default: your user name)")
    p.add_argument(
        "--force",
        action="store_true",
        help="seed a --store that holds other channels' conversations too (mixes them)",
    )

    p = command("list", cmd_list, "list conversations matching a query (default: not closed)")
    p.add_argument(
        "query", nargs="*", help="a query (`agentconsole help query`), e.g. 'tag:billing -is:mine'"
    )
    p.add_argument("--status", choices=[*STATUSES, "any"], help="status:S (any: include closed)")
    p.add_argument("--channel", help="only this channel")
    p.add_argument("--assignee", help="only conversations assigned to this agent")
    p.add_argument("--mine", action="store_true", help="the Mine view: mine, open or pending")
    p.add_argument("--unassigned", action="store_true", help="the Unassigned view: nobody's, open")
    p.add_argument("--tag", help="only conversations with this tag")
    p.add_argument("--limit", type=int, help="at most this many")

    with_id(command("show", cmd_show, "show a conversation with its messages"))
    p = command("search", cmd_search, "messages holding the words of a query, newest first")
    p.add_argument(
        "query",
        nargs="+",
        help='a query: words all in one message ("quoted phrase", word* a prefix) and fields '
        "its conversation must match (`agentconsole help query`)",
    )
    p.add_argument("--limit", type=int, default=50, help="at most this many hits (default 50)")

    p = command(
        "reply",
        cmd_reply,
        "queue a reply (text on stdin or --body-file, or a saved reply: --template NAME)",
    )
    p.add_argument(
        "targets", nargs="*", metavar="ID…", help="conversation id (several with --template)"
    )
    p.add_argument(
        "--query",
        metavar="QUERY",
        help="with --template: also every conversation this query selects (as `list QUERY` shows)",
    )
    p.add_argument("--body-file", metavar="FILE")
    p.add_argument(
        "--template",
        metavar="NAME",
        help="send saved reply NAME (its file name without .md; `agentconsole replies` lists "
        "them), filled in for each conversation, with its tags and status",
    )
    p.add_argument(
        "--attach",
        action="append",
        metavar="FILE",
        help="attach a file (repeat for several)",
    )
    p.add_argument(
        "--expect-last",
        type=int,
        metavar="MESSAGE_ID",
        help="refuse (exit 4) if another agent replied after this message",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--close", action="store_true", help="close the conversation after replying")
    group.add_argument(
        "--pending", action="store_true", help="mark it pending (waiting on the customer)"
    )
    p = with_id(command("note", cmd_note, "add an internal note (text on stdin or --body-file)"))
    p.add_argument("--body-file", metavar="FILE")
    p = command("replies", None, "saved replies: list them (and broken files), or show one")
    p.add_argument(
        "action", nargs="?", choices=["list", "show"], default="list", help="default: list"
    )
    p.add_argument("name", nargs="?", help="the reply's name (its file name without .md)")

    def several(p: argparse.ArgumentParser, words: str) -> argparse.ArgumentParser:
        p.add_argument("targets", nargs="*", metavar=f"ID… {words}".strip())
        p.add_argument(
            "--query",
            metavar="QUERY",
            help="also every conversation this query selects (as `list QUERY` shows them)",
        )
        return p

    p = several(command("assign", cmd_assign, "assign conversations"), "[AGENT]")
    p.add_argument("--me", action="store_true", help="assign to me")
    p.add_argument("--force", action="store_true", help="take them even if another agent holds one")
    p = several(command("unassign", cmd_unassign, "remove the assignee"), "")
    p.add_argument("--force", action="store_true", help="even if another agent holds one")
    several(command("close", _status_command("closed"), "close conversations"), "")
    several(command("reopen", _status_command("open"), "reopen conversations"), "")
    several(command("pending", _status_command("pending"), "mark as waiting on the customer"), "")
    several(
        command("snooze", cmd_snooze, "snooze until a time ('tomorrow 9am', 'in 2h', 'mon')"),
        "WHEN",
    )
    p = several(command("tag", cmd_tag, "add (+tag or tag) and remove (-tag) tags"), "[+-]TAG…")
    p.add_argument("--remove", action="append", metavar="TAG", help="remove a tag (same as -TAG)")
    several(
        command("priority", cmd_priority, "set the priority: urgent, high, normal, low"), "LEVEL"
    )
    p = command(
        "store",
        None,
        "the store itself: `store share --group G` makes a team store file; "
        "`store migrate SRC DST` copies a store into another (SQLite <-> PostgreSQL)",
    )
    p.add_argument(
        "action",
        choices=["share", "allow-aliases", "forbid-aliases", "migrate", "init"],
        help="share: folder 2770, files 0660 for a group; allow-aliases / forbid-aliases: "
        "whether agents of a team store may act under their [agent] name (owner only); "
        "migrate: copy SRC into DST; init: a PostgreSQL store's owner and agents roles "
        "(audit log append-only)",
    )
    p.add_argument("source", nargs="?", metavar="SRC", help="migrate: the store to copy")
    p.add_argument("destination", nargs="?", metavar="DST", help="migrate: where to copy it")
    p.add_argument("--group", help="share: the Unix group of the team's agents")
    p.add_argument(
        "--agent", action="append", metavar="ROLE", help="init: make this login role an agent"
    )
    p = command(
        "views", views_cli.run, "sidebar views with their queries and counts; add or remove one"
    )
    p.add_argument("action", nargs="?", choices=["list", "add", "remove"], help="default: list")
    p.add_argument("name", nargs="?", help="the view's name")
    p.add_argument("query", nargs="?", help="its query (views add), e.g. 'tag:vip -is:mine'")
    p.add_argument("--shared", action="store_true", help="the team's view, kept in the store")
    p.add_argument("--order", choices=list(views.ORDERS), default="urgent", help="row order")
    p.add_argument("--key", help="a key that jumps to the view in the console")
    p.add_argument("--replace", action="store_true", help="change a view of that name")
    several(
        command("spam", rules_cli.spam_command(True), "into Spam; the sender is blocked there"), ""
    )
    several(
        command("unspam", rules_cli.spam_command(False), "not spam: back, sender unblocked"), ""
    )
    p = command(
        "rules", rules_cli.run, "rules: list them, test one on the history (writes nothing), undo"
    )
    p.add_argument("action", choices=["list", "test", "undo"], help="list, test [RULE], undo ID")
    p.add_argument("rule", nargs="?", help="test: the rule's name (default: all); undo: an id")
    p.add_argument(
        "--since", default="30d", metavar="DURATION", help="test: the period replayed (30d)"
    )
    p = command("raw", cmd_raw, "write a message's original bytes, as received, to stdout (email)")
    p.add_argument("message_id", type=int, help="message id (ids are in show --json)")
    p = command("retry", cmd_retry, "send a failed reply again")
    p.add_argument("message_id", type=int)
    threading_cli.add_commands(command)
    p = command(
        "unsend", cmd_unsend, "take a reply back during its undo window (it becomes a draft)"
    )
    p.add_argument("message_id", type=int, help="the reply's message id (the console shows it)")
    p = command("link", cmd_link, "link two contacts as one person (undo with unlink)")
    p.add_argument("keep", type=int, help="contact id to keep")
    p.add_argument("merge", type=int, help="contact id merged into it")
    p = command("unlink", cmd_unlink, "undo a link of two contacts (give either of them)")
    p.add_argument(
        "contact", type=int, help="the contact merged away or the one kept (ids in show --json)"
    )
    p = command("save", cmd_save, "save an attachment (ids are in `show`) to a file you name")
    p.add_argument("attachment_id", type=int)
    p.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        help="where to write it (default: a cleaned version of its name in the download "
        "folder: $XDG_DOWNLOAD_DIR, user-dirs.dirs, ~/Downloads, else the current folder)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p = command(
        "report",
        cmd_report,
        "backlog, first response, resolution, first-contact resolution and SLA breaches",
    )
    p.add_argument(
        "--since",
        default="7d",
        metavar="DURATION",
        help="the period: conversations created in the last 24h, 7d (default), 4w…",
    )
    p = command("audit", cmd_audit, "the audit log (of a conversation, or all)")
    p.add_argument("id", type=int, nargs="?")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check the log's hash chain; exit 5 naming the first entry changed, removed or "
        "inserted",
    )
    p = command("sync", cmd_sync, "run the configured channels (fetch and send)")
    p.add_argument("--once", action="store_true", help="fetch and send once, then exit")
    p = command("deliver", cmd_deliver, "ingest one message from standard input (mail pipe)")
    p.add_argument("--channel", required=True, help="the configured channel it arrived on")
    command("channels", cmd_channels, "configured channels and their health")
    p = command("help", None, "explain a topic: query (the query language)")
    p.add_argument("topic", nargs="?", choices=["query"])
    command("plugins", None, "installed channel plugins, their capabilities and options")
    p = command("config", None, "the config file: `config example` prints a commented one")
    p.add_argument(
        "action",
        choices=["example"],
        help="example: print a commented example config (every key; every channel off), "
        "e.g. `agentconsole config example > ~/.config/agentconsole/config.toml`",
    )
    return parser


def _tag_removals(argv: list[str]) -> list[str]:
    """``tag ID +a -b``: argparse would read ``-b`` as an option, so spell it ``--remove=b``
    (the value of an option that takes one, such as ``--query '-status:closed'``, stays)."""
    if "tag" not in argv:
        return argv
    at = argv.index("tag")
    known = {"-v", "-h"}
    taking_value = {"--query", "--store", "--config", "--remove"}
    rest: list[str] = []
    for token in argv[at + 1 :]:
        if rest and rest[-1] in taking_value:
            rest.append(token)
        elif (
            token.startswith("-")
            and not token.startswith("--")
            and token not in known
            and len(token) > 1
        ):
            rest.append(f"--remove={token[1:]}")
        else:
            rest.append(token)
    return [*argv[: at + 1], *rest]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_tag_removals(list(sys.argv[1:] if argv is None else argv)))
    logs.configure(args.verbose)
    try:
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "help":
            return cmd_help(args, parser)
        if args.command == "config":
            return cmd_config(args)
        config = config_module.load(args.config)
        if args.command == "plugins":
            return cmd_plugins(args, config)
        if args.command == "replies":
            return replies_cli.run(args, config)
        if args.command == "rules" and args.action == "list":
            return rules_cli.list_rules(args, config)
        path = store_location(config, args.store)
        if args.command is None:
            return open_tui(path, config)
        if args.command == "store" and args.action == "migrate":
            return asyncio.run(store_cli.migrate(args, config.agent))
        if args.command == "store" and args.action == "init":
            return asyncio.run(store_cli.init(args, path))
        if args.command == "store" and args.action != "share":
            return asyncio.run(audit_cli.set_aliases(args, config, path))
        if args.command == "store":
            return cmd_store_share(args, path)
        return asyncio.run(_run(args.handler, args, config, path))
    except query_language.QueryError as error:
        print(f"agentconsole: {query_language.format_error(error)}", file=sys.stderr)
        return error.exit_code
    except AgentConsoleError as error:
        print(f"agentconsole: {clean(str(error))}", file=sys.stderr)
        if args.command == "deliver" and isinstance(error, StoreError) and error.temporary:
            # Busy, locked, full, read-only: the mail server keeps the message and retries.
            return EXIT_TEMPFAIL
        return error.exit_code
    except ChannelError as error:
        print(f"agentconsole: {clean(str(error))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — silence the interpreter's flush
        return EXIT_OK


async def _run(handler: Command, args: argparse.Namespace, config: Config, path: Location) -> int:
    if (
        not is_postgres(path)
        and not Path(path).exists()
        and args.command not in ("sync", "deliver")
    ):
        raise AgentConsoleError(
            f"no store at {path}: it is created by `agentconsole sync` (or the console, "
            f"`agentconsole`) with channels configured in {config.describe_file()}; "
            "`agentconsole demo --seed-only --store PATH` writes a demo store"
        )
    store = await open_store(config, path)
    try:
        return await handler(args, config, store)
    finally:
        await store.close()


if __name__ == "__main__":
    sys.exit(main())
