#!/usr/bin/env python3
"""Saved-reply picker as a person sees it: the real console in a tmux pane, 1,000 saved
replies, from ctrl+r sent to the terminal until the pane shows the filled-in preview.

    python bench/reply_picker_tmux.py                # 120x40, 7 openings
    python bench/reply_picker_tmux.py --size 80x24 --runs 11

For scale it also times one letter typed into the composer until the pane shows it (the
terminal's and the console's floor on this machine), and reads the console's CPU time per
opening (all its threads, from /proc/PID/task/*/schedstat): wall figures swing with the
machine's load, the CPU the console spends much less. Needs tmux (and Linux for the CPU). A benchmark, not a test:
it prints numbers (median, min, max, with the load average) and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reply_picker import make_store, write_replies  # noqa: E402


class Pane:
    """A tmux session running one command."""

    def __init__(self, command: str, size: str) -> None:
        self.name = "bench-" + uuid.uuid4().hex[:8]
        width, height = size.split("x")
        self._tmux("new-session", "-d", "-s", self.name, "-x", width, "-y", height, command)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.name, *keys)

    def until(self, pattern: str, *, gone: bool = False, timeout: float = 30) -> None:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if bool(re.search(pattern, self.screen(), re.M)) != gone:
                return
            time.sleep(0.003)
        raise SystemExit(f"timed out waiting for {pattern!r}; the pane shows:\n{self.screen()}")

    def command_pid(self) -> int:
        """The pid of the pane's command (the shell running it may have exec'd it)."""
        shell = int(self._tmux("display", "-p", "-t", self.name, "#{pane_pid}").strip())
        children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        for pid in [shell, *map(int, children)]:
            if "agentconsole" in Path(f"/proc/{pid}/cmdline").read_text():
                return pid
        raise SystemExit("the console's process was not found in the pane")

    def close(self) -> None:
        self._tmux("kill-session", "-t", self.name)


def cpu_ms(pid: int) -> float:
    """CPU time ``pid`` has used so far, all its threads (nanoseconds in schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--size", default="120x40")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentconsole-bench-tmux-") as temp:
        root = Path(temp)
        folder = root / "replies"
        folder.mkdir()
        write_replies(folder, args.replies)
        store = root / "store.db"
        asyncio.run(make_store(store))
        config = root / "config.toml"
        config.write_text(
            '[agent]\nname = "bench"\ndisplay_name = "Bench from Acme"\n\n'
            f"[replies]\ndirs = [{str(folder)!r}]\n",
            encoding="utf-8",
        )
        console = Path(sys.executable).with_name("agentconsole")
        command = (
            f"XDG_CONFIG_HOME={shlex.quote(str(root / 'xdg'))} {shlex.quote(str(console))}"
            f" --config {shlex.quote(str(config))} --store {shlex.quote(str(store))}"
        )
        pane = Pane(command, args.size)
        try:
            pane.until("Card declined")
            time.sleep(1.5)
            pane.keys("r")
            pane.until("Reply to")
            time.sleep(1.0)
            opened = []
            cpu = []
            console = pane.command_pid()
            for _ in range(args.runs):
                start, cpu_start = time.monotonic(), cpu_ms(console)
                pane.keys("C-r")
                pane.until("Hi Ada,")
                opened.append((time.monotonic() - start) * 1000)
                cpu.append(cpu_ms(console) - cpu_start)
                time.sleep(0.5)
                pane.keys("Escape")
                pane.until("Hi Ada,", gone=True)
                time.sleep(1.0)  # the files are read again after each use
            floor = []
            for _ in range(args.runs):
                before = pane.screen()
                start = time.monotonic()
                pane.keys("x")
                while pane.screen() == before:
                    time.sleep(0.003)
                floor.append((time.monotonic() - start) * 1000)
                time.sleep(0.3)
        finally:
            pane.close()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"saved-reply picker in tmux {args.size}, {args.replies} replies, {args.runs} runs"
        f" (load {load} on {os.cpu_count()} cores)"
    )
    rows = (
        ("ctrl+r until the preview shows", opened),
        ("  the console's CPU meanwhile", cpu),
        ("a letter typed", floor),
    )
    for name, values in rows:
        print(
            f"{name:<32} median {statistics.median(values):6.0f} ms"
            f"  min {min(values):5.0f}  max {max(values):5.0f}"
        )


if __name__ == "__main__":
    main()
