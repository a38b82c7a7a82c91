"""Whole processes measured the way a user runs them, and laid out side by side.

A :class:`Run` is one process run to its end: wall seconds, CPU seconds (user + system of it
and the children it waited for: what the machine's other work inflates far less than wall
time) and the peak resident memory of its whole process tree. A :class:`Line` is one row of
the table: each tool's :class:`Cell` of runs, shown as the median with the range (min–max),
and the load average before and after it. Used by bench/peers.py.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# -- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """One run: wall and CPU seconds (the process tree's user + system time, which the
    machine's other work inflates far less than wall time), peak RSS of the tree."""

    seconds: float
    cpu_seconds: float | None
    peak_mb: float | None = None
    ok: bool = True
    note: str = ""


@dataclass(slots=True)
class Cell:
    """One tool's runs of one measure."""

    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    def text(self, unit: str = "s") -> str:
        failed = [run for run in self.runs if not run.ok]
        if failed:
            return f"failed: {failed[0].note}"
        times = [run.seconds for run in self.runs]

        def shown(seconds: float) -> str:
            return f"{seconds * 1000:.0f}" if unit == "ms" else f"{seconds:.1f}"

        text = f"{shown(self.median)} {unit}"
        if len(times) > 1:
            text += f" ({shown(min(times))}–{shown(max(times))})"
        cpu = [run.cpu_seconds for run in self.runs if run.cpu_seconds is not None]
        if cpu:
            text += f", CPU {shown(statistics.median(cpu))}"
        peaks = [run.peak_mb for run in self.runs if run.peak_mb is not None]
        if peaks:
            text += f", {max(peaks):.0f} MB"
        return text


def tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and all its descendants now (kB)."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
            for task in os.scandir(f"/proc/{pid}/task"):
                stack.extend(int(c) for c in Path(task.path, "children").read_text().split())
    return total


def run_tree(
    command: Sequence[str],
    env: dict[str, str],
    memory: bool = True,
    ok_codes: tuple[int, ...] = (0,),
) -> Run:
    """Run ``command`` to its end: wall seconds, CPU seconds of it and the children it
    waited for, and (``memory``) the peak RSS of its process tree, sampled every 50 ms."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors
        )
        peak = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG if memory else 0)
            if pid:
                break
            peak = max(peak, tree_rss_kb(process.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        process.returncode = code = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        if code not in ok_codes:
            errors.seek(0)
            text = errors.read().decode(errors="replace").strip().splitlines()
            last = text[-1] if text else f"exit {code}"
            return Run(seconds, cpu, ok=False, note=f"{command[0]}: {last[:120]}")
    return Run(seconds, cpu, peak / 1024 if memory else None)


def run_shell(pipeline: str, env: dict[str, str], ok_codes: tuple[int, ...] = (0,)) -> Run:
    """A shell pipeline as a script runs it: wall and CPU time, no memory sampling."""
    return run_tree(["sh", "-c", pipeline], env, memory=False, ok_codes=ok_codes)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


# -- the table --------------------------------------------------------------------------------


@dataclass(slots=True)
class Line:
    work: str
    cells: dict[str, Cell] = field(default_factory=dict)
    unit: str = "s"
    notes: list[str] = field(default_factory=list)
    load: str = ""

    def ratio(self) -> str:
        ours = self.cells.get("agentconsole")
        peers = [c for name, c in self.cells.items() if name != "agentconsole" and c.runs]
        peers = [c for c in peers if all(r.ok for r in c.runs)]
        if not ours or not ours.runs or not peers or not all(r.ok for r in ours.runs):
            return "—"
        best = min(peers, key=lambda c: c.median)
        factor = best.median / ours.median
        return f"{factor:.1f}× faster" if factor >= 1 else f"{1 / factor:.1f}× slower"


COLUMNS = ("agentconsole", "notmuch", "mu", "mbsync")


def print_table(lines: list[Line]) -> None:
    used = [c for c in COLUMNS if any(c in line.cells for line in lines)]
    print()
    print("| work | " + " | ".join(used) + " | ours vs best peer | load 1/5 min |")
    print("|---|" + "---|" * (len(used) + 2))
    for line in lines:
        cells = [line.cells[c].text(line.unit) if c in line.cells else "—" for c in used]
        print(f"| {line.work} | " + " | ".join(cells) + f" | {line.ratio()} | {line.load} |")
    notes = [f"{line.work}: {note}" for line in lines for note in line.notes]
    for note in dict.fromkeys(notes):
        print(f"* {note}")


def measure(
    line: Line,
    tools: dict[str, Callable[[], Run]],
    runs: int,
    warm_up: bool = False,
    progress: bool = False,
) -> Line:
    """Each tool once per round, ``runs`` rounds (after an untimed round if ``warm_up``);
    with ``progress``, a line on stdout as each run ends (for the long measures)."""
    before = load()
    for round_number in range(runs + warm_up):
        for name, one in tools.items():
            run = one()
            if warm_up and round_number == 0:
                continue
            line.cells.setdefault(name, Cell()).runs.append(run)
            if progress:
                print(f"    {name}: {Cell([run]).text(line.unit)} (load {load()})", flush=True)
    line.load = f"{before} → {load()}"
    print(
        f"  {line.work}: " + "; ".join(f"{n} {c.text(line.unit)}" for n, c in line.cells.items()),
        flush=True,
    )
    return line
