"""``agentconsole rules list|test|undo``: the configured rules, what they would have done
over the stored history (without writing anything), and undoing a rule's latest change;
``spam`` / ``unspam``.

``rules list`` needs no store and exits 1 when a rule is broken (each named with its file),
so a team can check a shared rules file before it is deployed. ``rules test`` reads only.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from collections.abc import Awaitable, Callable

from . import output
from .config import Config
from .errors import NotFoundError, UsageError
from .query import Field, all_of, parse, walk
from .rules.definition import Rule, RuleReplay, RuleSet
from .rules.loading import load_rules
from .sanitize import clean, one_line
from .store import Store
from .timeparse import parse_duration

EXIT_OK, EXIT_BROKEN = 0, 1


def list_rules(args: argparse.Namespace, config: Config) -> int:
    """Every rule in evaluation order, then the broken ones; exit 1 when one is broken."""
    rules = load_rules(config)
    for rule in rules.rules:
        if args.json:
            output.emit_json(_rule_json(rule))
        else:
            print(f"{one_line(rule.name)[:28]:<28} {rule_line(rule)}")
    for problem in rules.problems:
        if args.json:
            output.emit_json({"name": problem.rule, "file": problem.file, "error": problem.message})
        else:
            print(f"{one_line(problem.rule)[:28]:<28} BROKEN  {one_line(str(problem))}")
    if not rules.rules and not rules.problems and not args.json:
        print(f"no rules in {config.describe_file()} (add [[rules]] tables)")
    return EXIT_BROKEN if rules.problems else EXIT_OK


async def run(args: argparse.Namespace, config: Config, store: Store) -> int:
    """``rules test [RULE]`` and ``rules undo ID``."""
    if args.action == "undo":
        return await _undo(args, store)
    rules = load_rules(config)
    chosen = _chosen(rules, args.rule)
    now = time.time()
    since = now - parse_duration(args.since)
    for rule in chosen:
        replayed = await store.replay_rule(rule, since, now)
        if args.json:
            output.emit_json(
                {**_replay_json(replayed), "enabled": rule.enabled, "since": args.since}
            )
        else:
            _print_replay(rule, replayed, args.since)
    return EXIT_OK


def _chosen(rules: RuleSet, name: str | None) -> list[Rule]:
    if name is None:
        if not rules.rules:
            raise UsageError("there are no rules to test (add [[rules]] to the config)")
        return list(rules.rules)
    rule = rules.named(name)
    if rule is not None:
        return [rule]
    for problem in rules.problems:
        if problem.rule == name:
            raise UsageError(str(problem))
    close = difflib.get_close_matches(name, [r.name for r in rules.rules], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else " (`agentconsole rules list`)"
    raise NotFoundError(f"no rule {name!r}{hint}")


def rule_line(rule: Rule) -> str:
    """What a rule does, on one line (outside text cleaned): its event, condition, actions,
    ``stop`` and whether it is disabled — as ``rules list`` and the console show it."""
    state = "  (disabled)" if not rule.enabled else ""
    stop = "  stop" if rule.stop else ""
    return (
        f"{rule.on:<16} if {one_line(rule.condition) or '(all)'}"
        f"  then {one_line(', '.join(rule.then.describe()))}{stop}{state}"
    )


def replay_lines(rule: Rule, replayed: RuleReplay, since: str) -> list[str]:
    """What ``rules test`` prints for one rule (outside text cleaned): how many it would
    have matched in ``since``, each change with its count, the sample ids. The console's
    replay screen shows the same lines."""
    state = "" if rule.enabled else " (disabled)"
    lines = [
        f"rule {one_line(rule.name)!r}{state}, on {rule.on}: would have matched "
        f"{replayed.matched} conversation{'s' if replayed.matched != 1 else ''} in {since}"
    ]
    lines += [f"  {count:>7}  {one_line(change)}" for change, count in replayed.changes]
    if replayed.matched and not replayed.changes:
        lines.append("           (nothing to change: every one is so already)")
    if replayed.sample_ids:
        lines.append("  e.g. " + " ".join(f"#{i}" for i in replayed.sample_ids))
    return lines


def _print_replay(rule: Rule, replayed: RuleReplay, since: str) -> None:
    for line in replay_lines(rule, replayed, since):
        print(line)


def _replay_json(replayed: RuleReplay) -> dict[str, object]:
    return {
        "rule": replayed.rule,
        "on": replayed.event,
        "matched": replayed.matched,
        "changes": dict(replayed.changes),
        "sample_ids": list(replayed.sample_ids),
    }


def _rule_json(rule: Rule) -> dict[str, object]:
    return {
        "name": rule.name,
        "on": rule.on,
        "if": rule.condition,
        "then": rule.then.describe(),
        "stop": rule.stop,
        "enabled": rule.enabled,
        "file": rule.file,
    }


async def _undo(args: argparse.Namespace, store: Store) -> int:
    if args.rule is None or not args.rule.removeprefix("#").isdigit():
        raise UsageError("rules undo ID: the conversation whose latest rule change to undo")
    conversation_id = int(args.rule.removeprefix("#"))
    found = await store.last_rule_change(conversation_id)
    if found is None:
        raise NotFoundError(f"no rule changed conversation {conversation_id}")
    rule, before = found
    restored = await store.restore([before])
    data = {"id": conversation_id, "rule": rule, "undone": bool(restored)}
    if args.json:
        output.emit_json(data)
    elif restored:
        print(clean(f"#{conversation_id}: rule {rule!r}'s change undone"))
    else:
        print(clean(f"#{conversation_id}: already as it was before rule {rule!r}"))
    return EXIT_OK


def spam_command(spam: bool) -> Callable[[argparse.Namespace, Config, Store], Awaitable[int]]:
    """``spam ID…`` / ``unspam ID…`` (and ``--query``): into Spam with the sender blocked on
    its channel, or back with the sender unblocked. Exit 1 when one was so already, 3 when
    one does not exist (each named on stderr)."""

    async def run(args: argparse.Namespace, config: Config, store: Store) -> int:
        ids = [
            int(word.removeprefix("#")) for word in args.targets if word.removeprefix("#").isdigit()
        ]
        others = [word for word in args.targets if not word.removeprefix("#").isdigit()]
        if others:
            raise UsageError(f"{args.command} takes conversation ids, not {others[0]!r}")
        if args.query is not None:
            node = parse(args.query)
            if not spam and not any(
                isinstance(t, Field) and t.name == "is" and t.value == "spam" for t in walk(node)
            ):
                node = all_of(node, parse("is:spam"))
            ids += [row.id for row in await store.find(node)]
        ids = list(dict.fromkeys(ids))
        if not ids:
            raise UsageError("name the conversations (ids) or select them with --query")
        known = await store.conversation_rows(ids)
        changed = set(await store.set_spam(ids, spam))
        exit_code = EXIT_OK
        for conversation_id in ids:
            if conversation_id in changed:
                data = {"id": conversation_id, "spam": spam}
                if args.json:
                    output.emit_json(data)
                else:
                    print(f"#{conversation_id} {'spam, sender blocked' if spam else 'not spam'}")
                continue
            missing = conversation_id not in known
            reason = "already so" if not missing else "no such conversation"
            print(f"agentconsole: #{conversation_id}: {reason}", file=sys.stderr)
            exit_code = exit_code or (3 if missing else 1)
        return exit_code

    return run
