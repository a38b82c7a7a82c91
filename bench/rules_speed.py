#!/usr/bin/env python3
"""Rules benchmark: what rules cost on ingest, and how long ``rules test`` takes.

    python bench/rules_speed.py                          # the issue's sizes
    python bench/rules_speed.py --conversations 20000    # quicker replay store
    python bench/rules_speed.py --reuse                  # keep the replay store of a run
    python bench/rules_speed.py --ingest-only            # the ingest figures alone

Figures:
* ingest: normalized messages/s through the whole pipeline (dedupe, thread, contact, index,
  rules in the same transaction) with 0, 10 and 100 inbound rules, the store's CPU time per
  message and the part of it the rules took (conditions and actions; steadier than msg/s
  on a shared machine) — subject word (each in
  about 4% of the conversations), sender, tag, priority and channel conditions; tag, priority and round-robin actions; one rule in ten
  sends a saved reply (an acknowledgement) to the conversations it matches
* replay: ``rules test`` of 10 rules over every conversation of a large store, in-process
  (``Store.replay_rule`` per rule, what the command runs) and as the real command
This is a benchmark, not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import build  # noqa: E402
from store_cpu import STORE_CPU, time_store_writes, time_thread_cpu  # noqa: E402
from synthetic import CHANNELS, WORDS, messages  # noqa: E402

from agentconsole import config as config_module  # noqa: E402
from agentconsole.replies import load_library  # noqa: E402
from agentconsole.rules.definition import RuleSet  # noqa: E402
from agentconsole.rules.loading import load_rules  # noqa: E402
from agentconsole.store import connect, rules_sql  # noqa: E402

BATCH = 2000
#: Words of the synthetic subjects, not stop words: each is in about 4% of the subjects,
#: so a rule matches a few percent of the conversations, as a team's rules do.
TOPICS = WORDS[19:]
ACK = '+++\ntitle = "We got it"\n+++\nHi {customer.first_name}, we got your message.\n'


def rule_tables(count: int) -> list[dict[str, Any]]:
    """``count`` inbound rules of the kinds a team writes."""
    tables: list[dict[str, Any]] = []
    for number in range(count):
        word = TOPICS[(number * 7) % len(TOPICS)]
        conditions = (
            f"subject:{word}",
            f"from:@example.com subject:{word}",
            f"tag:t{number - 1}" if number else f"subject:{word}",
            f"-priority:urgent subject:{word}",
            f"channel:bench-email subject:{word}",
        )
        then: dict[str, Any] = {"tags": [f"+t{number}"]}
        if number % 3 == 1:
            then["priority"] = "high"
        if number % 5 == 2:
            then["assign"] = "round_robin:support"
        if number % 10 == 9:
            then["reply"] = "ack"
        tables.append(
            {"name": f"rule {number}", "on": "inbound", "if": conditions[number % 5], "then": then}
        )
    return tables


def rule_set(count: int, folder: Path) -> tuple[RuleSet, Path]:
    replies = folder / "replies"
    replies.mkdir(exist_ok=True)
    (replies / "ack.md").write_text(ACK, encoding="utf-8")
    config_text = '[teams]\nsupport = ["ana", "ben", "cy"]\n[replies]\ndirs = ["replies"]\n'
    for table in rule_tables(count):
        then = ", ".join(
            f"{key} = {value!r}".replace("'", '"')
            if not isinstance(value, list)
            else f"{key} = [{', '.join(chr(34) + v + chr(34) for v in value)}]"
            for key, value in table["then"].items()
        )
        config_text += (
            f'\n[[rules]]\nname = "{table["name"]}"\non = "inbound"\n'
            f'if = "{table["if"]}"\nthen = {{ {then} }}\n'
        )
    config_file = folder / f"config-{count}.toml"
    config_file.write_text(config_text, encoding="utf-8")
    config = config_module.load(str(config_file))
    loaded = load_rules(config, load_library([replies]))
    assert not loaded.problems, loaded.problems
    return loaded, config_file


#: CPU seconds the store's writer thread spent running rules on ingest so far.
RULES_CPU = [0.0]


def time_rules() -> None:
    """From now on, add the CPU time of each batch's rules to :data:`RULES_CPU`."""
    time_thread_cpu(rules_sql, "run_on_ingest", RULES_CPU)


async def ingest_rate(folder: Path, rules: int, conversations: int) -> tuple[float, float, float]:
    """Normalized messages/s, and the store's and the rules' CPU µs per message."""
    path = folder / f"ingest-{rules}.db"
    store = await connect(path, agent="bench")
    for name, kind in CHANNELS:
        await store.ensure_channel(name, "bench", kind)
    if rules:
        store.use_rules(rule_set(rules, folder)[0])
    stream = messages(conversations, 5)
    cpu_before, rules_before = STORE_CPU[0], RULES_CPU[0]
    total = 0
    seconds = 0.0
    while True:
        chunk: dict[str, list[Any]] = {}
        count = 0
        for channel, message in stream:
            chunk.setdefault(channel, []).append(message)
            count += 1
            if count >= BATCH:
                break
        if not count:
            break
        started = time.perf_counter()
        for channel, batch in chunk.items():
            await store.ingest(channel, batch, None, update_cursor=False)
        seconds += time.perf_counter() - started
        total += count
    await store.close()
    store_us = (STORE_CPU[0] - cpu_before) / total * 1e6
    return total / seconds, store_us, (RULES_CPU[0] - rules_before) / total * 1e6


async def replay_seconds(path: Path, rules: RuleSet) -> tuple[float, int]:
    store = await connect(path, agent="bench")
    started = time.perf_counter()
    matched = 0
    for rule in rules.rules:
        matched += (await store.replay_rule(rule, since=0.0)).matched
    seconds = time.perf_counter() - started
    await store.close()
    return seconds, matched


def command_seconds(path: Path, config_file: Path) -> float:
    env = {**os.environ, "AGENTCONSOLE_CONFIG": str(config_file)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", "--store", str(path), "rules", "test",
         "--since", "100000d", "--json"],
        check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    return time.perf_counter() - started


async def main_async(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="agentconsole-rules-bench-"))
    print(f"rules benchmark (a shared machine: figures vary from run to run) in {work}")
    time_store_writes()
    time_rules()
    for count in (0, 10, 100):
        rate, store_us, rules_us = await ingest_rate(work, count, args.ingest_conversations)
        target = "≥ 4,000 msg/s" if count == 10 else ""
        print(
            f"  ingest with {count:>3} rules {rate:>16,.0f} msg/s   {target}"
            f" (store CPU {store_us:,.0f} µs/message, the rules {rules_us:,.1f})",
            flush=True,
        )
    if args.ingest_only:
        return
    replay_store = Path(args.store)
    if not (args.reuse and replay_store.exists()):
        print(f"  building {args.conversations:,} conversations for the replay …", flush=True)
        await build(replay_store, args.conversations, args.per_conversation)
    rules, config_file = rule_set(10, work)
    seconds, matched = await replay_seconds(replay_store, rules)
    print(
        f"  rules test, 10 rules, {args.conversations:,} conversations (in-process)"
        f" {seconds:>8.2f} s   ≤ 10 s   ({matched:,} matches)"
    )
    print(
        f"  rules test, the command (start-up included) {command_seconds(replay_store, config_file):>8.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-conversations", type=int, default=4000)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--per-conversation", type=float, default=2)
    parser.add_argument("--store", default=str(Path(tempfile.gettempdir()) / "rules-replay.db"))
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--ingest-only", action="store_true", help="only the ingest figures (no replay store)"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
