"""``agentconsole views``: every sidebar view with its query and count, and saving views —
personal ones into the agent's config file, shared ones into the store for the team."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from . import config as config_module
from . import output, paths, views
from .config import Config
from .errors import ConfigError, UsageError
from .query import parse
from .sanitize import clean, one_line
from .store import Store

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


async def run(args: argparse.Namespace, config: Config, store: Store) -> int:
    action = args.action or "list"
    if action == "list":
        return await _list(args, config, store)
    if not args.name:
        raise UsageError(f"views {action} needs a NAME")
    if action == "add":
        if not args.query:
            raise UsageError("views add NAME QUERY: give the query, e.g. 'tag:vip -is:mine'")
        parse(args.query)  # a bad query is refused before anything is written
        if args.shared:
            await store.save_view(
                args.name, args.query, order=args.order, shortcut=args.key, replace=args.replace
            )
            where = "shared with the team in the store"
        else:
            file = add_personal(
                config, args.name, args.query, order=args.order, key=args.key, replace=args.replace
            )
            where = f"added to {file}"
        return _done(args, {"name": args.name, "query": args.query, "shared": args.shared}, where)
    if args.shared:
        await store.remove_view(args.name)
        where = "no longer shared"
    else:
        where = f"removed from {_remove_personal(config, args.name)}"
    return _done(args, {"name": args.name, "removed": True, "shared": args.shared}, where)


async def _list(args: argparse.Namespace, config: Config, store: Store) -> int:
    channels = [channel.name for channel in await store.channels(with_counts=False)]
    every = views.sidebar(
        config.views.values(), await store.shared_views(), channels, await store.tags()
    )
    counts = await store.count({view.key: parse(view.query) for view in every})
    for view in every:
        if args.json:
            output.emit_json(
                {
                    "key": view.key,
                    "label": view.label,
                    "query": view.query,
                    "order": view.order,
                    "source": view.source,
                    "shortcut": view.shortcut,
                    "count": counts[view.key],
                }
            )
        else:
            print(
                f"{one_line(view.label)[:24]:<24} {counts[view.key]:>7}  {view.source:<9}"
                f"  {one_line(view.query)}"
            )
    return 0


def _done(args: argparse.Namespace, data: dict[str, object], where: str) -> int:
    if args.json:
        output.emit_json(data)
    else:
        print(clean(f"view {args.name} {where}"))
    return 0


def _config_file(config: Config) -> Path:
    return Path(config.file) if config.file_exists else paths.default_config_file()


def _header(name: str) -> str:
    return f"[views.{name}]" if _BARE_KEY.match(name) else f"[views.{json.dumps(name)}]"


def add_personal(
    config: Config,
    name: str,
    query: str,
    *,
    order: str = "urgent",
    key: str | None = None,
    replace: bool = False,
) -> Path:
    """Append ``[views.NAME]`` to the config file (created if missing) and return the file;
    the file is read back and left as it was if it no longer loads (``views add`` and the
    console's "save the search as a view" both write through here)."""
    if name in config.views and not replace:
        raise UsageError(f"you have a view {name!r} already (--replace changes it)")
    file = _config_file(config)
    if replace and name in config.views:
        _remove_personal(config, name)
    before = file.read_text(encoding="utf-8") if file.exists() else None
    lines = ["", _header(name), f"query = {json.dumps(query, ensure_ascii=False)}"]
    if order != "urgent":
        lines.append(f'order = "{order}"')
    if key:
        lines.append(f"key = {json.dumps(key)}")
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    try:
        config_module.load(str(file))
    except ConfigError:
        if before is None:
            file.unlink()
        else:
            file.write_text(before, encoding="utf-8")
        raise
    return file


def _remove_personal(config: Config, name: str) -> Path:
    """Remove the ``[views.NAME]`` table (up to the next table) from the config file."""
    if name not in config.views:
        raise UsageError(f"no view {name!r} in {config.file} (`agentconsole views` lists them)")
    file = _config_file(config)
    kept: list[str] = []
    skipping = False
    for line in file.read_text(encoding="utf-8").splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            skipping = stripped == _header(name) or stripped.replace(" ", "") in (
                f"[views.{name}]",
                f'[views."{name}"]',
            )
        if not skipping:
            kept.append(line)
    file.write_text("".join(kept), encoding="utf-8")
    return file
