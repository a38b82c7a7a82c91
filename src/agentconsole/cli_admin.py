"""The commands about the team and the machine rather than one conversation: the report,
the audit log, channels and plugins, running the channels (``sync``) and the mail pipe
(``deliver``), sharing the store file, help, the example config, and the screen itself (the
console and the demo)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import audit_cli, humanize, output, plugins
from . import config as config_module
from .cli_common import EXIT_ERROR, EXIT_OK, EXIT_TEMPFAIL, report
from .config import Config
from .errors import AgentConsoleError, NotFoundError, UsageError
from .opening import Location, open_store
from .plugin import PermanentError, TemporaryError
from .sanitize import clean, one_line
from .store import Store, is_postgres


async def cmd_report(args: argparse.Namespace, config: Config, store: Store) -> int:
    from . import metrics
    from .sla.report import breaches_by_policy
    from .timeparse import parse_duration

    now = time.time()
    since = now - parse_duration(args.since)
    rows = await store.conversation_timings(since)
    figures = metrics.compute(
        rows,
        since=since,
        now=now,
        first_response_target=config.first_response_target,
        sla_policies=config.sla is not None,
    )
    by_policy = breaches_by_policy(rows, config.sla, since=since, now=now) if config.sla else []
    if args.json:
        for entry in figures:
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
    for entry in figures:
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
        ingested = await store.ingest(args.channel, [message], update_cursor=False)
    except PermanentError as error:
        raise UsageError(str(error)) from None
    except (TemporaryError, OSError) as error:
        # Nothing was stored: ask the mail server to keep the message and retry.
        print(f"agentconsole: not stored, try again later: {clean(str(error))}", file=sys.stderr)
        raise SystemExit(EXIT_TEMPFAIL) from None
    finally:
        await plugin.close()
    return report(
        args,
        {
            "channel": args.channel,
            "stored": ingested.stored,
            "duplicates": ingested.duplicates,
            "conversations": list(ingested.touched),
        },
        f"{'stored' if ingested.stored else 'already stored'} in conversation "
        f"{', '.join(map(str, ingested.touched)) or '-'}",
    )


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
