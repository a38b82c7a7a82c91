#!/usr/bin/env python3
"""CLI start-up benchmark: scripted commands as whole processes on a large store.

    python bench/cli_startup.py --reuse            # the store bench/scale.py built (100k)
    python bench/cli_startup.py --conversations 20000 --store bench/out/scale-20k.db
    python bench/cli_startup.py --reuse --python ../main/.venv/bin/python   # another build

Times ``--version``, ``--help``, ``list --json --limit 50``, ``search WORD --json`` and
``show ID --json`` (and the ``deliver`` mail pipe, into a store of its own) as the user runs
them — the installed ``agentconsole`` script, a new process each time — and prints the
median and spread of ``--runs`` runs (wall clock and CPU time) and the median ``-X
importtime`` total after the interpreter's start (with the number of modules imported),
beside the interpreter's own start (``python -c pass``), then where ``list`` spends its
imports (the modules with the largest cumulative time). The children run with bytecode caching on, as an
installed package has it. This is a benchmark, not a test: it prints numbers and never fails
on them. The machine is shared: read the load average printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import COMMON  # noqa: E402

TARGETS = {"--version": 40, "--help": 40, "list": 60, "search": 60, "show": 60}


def child_env(config: Path | str = os.devnull) -> dict[str, str]:
    env = {**os.environ, "AGENTCONSOLE_CONFIG": str(config), "AGENTCONSOLE_AGENT": "bench"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode cached
    env.pop("AGENTCONSOLE_STORE", None)
    return env


def timed(
    command: list[str], env: dict[str, str], stdin: bytes | None = None
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        command,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def row(name: str, runs: list[tuple[float, float]], target: str = "", imported: str = "") -> None:
    walls = sorted(w * 1000 for w, _ in runs)
    cpus = sorted(c * 1000 for _, c in runs)
    print(
        f"  {name:<34} {statistics.median(walls):7.1f} ms  {walls[0]:6.1f}–{walls[-1]:<7.1f}"
        f" {statistics.median(cpus):7.1f} ms  {imported:<22} {target}",
        flush=True,
    )


def measure(command: list[str], env: dict[str, str], runs: int) -> list[tuple[float, float]]:
    timed(command, env)  # warm: bytecode written, file cache filled
    return [timed(command, env) for _ in range(runs)]


def deliver_runs(script: Path, runs: int) -> list[tuple[float, float]]:
    """``deliver`` into a store of its own (it writes), a new message each time."""
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as folder:
        maildir = Path(folder) / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True)
        config = Path(folder) / "config.toml"
        config.write_text(
            '[channels.mail]\ntype = "email"\nfrom_address = "support@example.org"\n'
            f'maildir = "{maildir}"\n'
        )
        env = child_env(config)
        command = [
            str(script),
            "--store",
            str(Path(folder) / "s.db"),
            "deliver",
            "--channel",
            "mail",
        ]
        results = []
        for number in range(runs + 1):
            message = (
                f"From: Ada <ada{number}@example.com>\r\nTo: support@example.org\r\n"
                f"Subject: order {number}\r\nMessage-ID: <bench{number}@example.com>\r\n\r\n"
                "Where is my order?\r\n"
            ).encode()
            result = timed(command, env, stdin=message)
            if number:  # the first one creates the store
                results.append(result)
        return results


def imports(python: Path, args: list[str], env: dict[str, str]) -> list[tuple[int, int, str]]:
    """(cumulative µs, own µs, name) of each module ``agentconsole ARGS`` imports after the
    interpreter's start (``site`` and what it loads, ``python -c pass`` has them too)."""
    code = "import sys; from agentconsole.cli import main; sys.exit(main())"
    result = subprocess.run(
        [str(python), "-X", "importtime", "-c", code, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    rows: list[tuple[int, int, str]] = []
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match[2]), int(match[1]), match[4]))
            if match[4] == "site" and len(match[3]) == 1:
                rows.clear()  # the interpreter's start ends with site
    return rows


def importtime_total(python: Path, args: list[str], env: dict[str, str], runs: int) -> str:
    """The median over ``runs`` of the command's ``-X importtime`` total after the
    interpreter's start, and its module count: "12.3 ms, 45 mod." (steadier than the wall
    clock on a shared machine)."""
    totals, counts = [], []
    for _ in range(runs):
        rows = imports(python, args, env)
        totals.append(sum(own for _, own, _ in rows) / 1000)
        counts.append(len(rows))
    return f"{statistics.median(totals):6.1f} ms, {statistics.median(counts):3.0f} mod."


def importtime_summary(python: Path, args: list[str], env: dict[str, str], top: int) -> None:
    rows = imports(python, args, env)
    total = sum(own for _, own, _ in rows)
    ours = [r for r in rows if r[2].startswith(("agentconsole", "agentconsole_"))]
    print(
        f"\n  -X importtime, `{' '.join(args[2:])}`: {len(rows)} modules, {total / 1000:.1f} ms"
        f" after the interpreter's start ({len(ours)} of agentconsole; modules the store"
        " loads on first use are not listed by -X importtime)"
    )
    print(f"  {'module':<52} {'cumulative':>10} {'self':>8}")
    for cumulative, own, name in sorted(rows, reverse=True)[:top]:
        print(f"  {name:<52} {cumulative / 1000:8.1f} ms {own / 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--per-conversation", type=float, default=5.5)
    parser.add_argument("--store", type=Path, default=Path("bench/out/scale.db"))
    parser.add_argument("--reuse", action="store_true", help="keep an existing store")
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (≥ 10)")
    parser.add_argument(
        "--python",
        type=Path,
        default=Path(sys.executable),
        help="the interpreter of the agentconsole to time (its `agentconsole` script beside it)",
    )
    parser.add_argument("--top", type=int, default=15, help="modules in the importtime summary")
    parser.add_argument(
        "--config",
        default=os.devnull,
        help="the config the commands read (default: an empty one). One with [[sla]] policies"
        " other than those the store was computed under makes the first read recompute them",
    )
    args = parser.parse_args()
    script = args.python.parent / "agentconsole"
    args.store.parent.mkdir(parents=True, exist_ok=True)
    if not (args.reuse and args.store.exists()):
        import scale

        asyncio.run(scale.build(args.store, args.conversations, args.per_conversation))
    with sqlite3.connect(f"file:{args.store}?mode=ro", uri=True) as conn:
        (conversations,) = conn.execute("SELECT count(*) FROM conversations").fetchone()
        (messages,) = conn.execute("SELECT count(*) FROM messages").fetchone()
        (middle,) = conn.execute(
            "SELECT id FROM conversations ORDER BY id LIMIT 1 OFFSET ?", (conversations // 2,)
        ).fetchone()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"agentconsole CLI start-up — {conversations:,} conversations, {messages:,} messages;"
        f" {os.cpu_count()} cores, Python {sys.version.split()[0]}, load {load}"
    )
    print(f"  {script}, {args.runs} runs each, config {args.config}")
    print(
        f"  {'command':<34} {'wall median':>10}  {'min–max':<14} {'CPU median':>10}"
        f"  {'-X importtime':<22} target"
    )
    env = child_env(args.config)
    store = ["--store", str(args.store)]
    row("python -c pass (the floor)", measure([str(args.python), "-c", "pass"], env, args.runs))
    commands = {
        "--version": ["--version"],
        "--help": ["--help"],
        "list --json --limit 50": [*store, "list", "--json", "--limit", "50"],
        f"search {COMMON} --json": [*store, "search", COMMON, "--json"],
        f"show {middle} --json": [*store, "show", str(middle), "--json"],
    }
    for name, command in commands.items():
        target = TARGETS[name.split()[0]]
        runs = measure([str(script), *command], env, args.runs)
        imported = importtime_total(args.python, command, env, max(3, args.runs // 3))
        row(name, runs, f"≤ {target} ms", imported)
    row("deliver (mail pipe, new message)", deliver_runs(script, args.runs), "no regression")
    importtime_summary(args.python, [*store, "list", "--json", "--limit", "50"], env, args.top)
    print(f"  load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
