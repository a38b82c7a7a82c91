#!/usr/bin/env python3
"""Repaint benchmark: key press to the *finished* repaint of the real TUI, as a person sees it.

    python bench/repaint.py --store bench/out/scale.db              # pty, 160x45, live feed
    python bench/repaint.py --store bench/out/scale.db --via tmux --size 80x24
    python bench/repaint.py --store bench/out/scale.db --no-feed    # nothing written meanwhile

Builds nothing: give it a store (``bench/scale.py`` builds one of 100,000 conversations).

Two terminals, both at a real size (``--size``), both driven the same way: keys are sent at
a key-repeat cadence (``--repeat``, 30 a second, as a held key sends them), and a key's
repaint is finished at the last output before the output stays quiet for ``--quiet`` s (or
the next key is sent). The first output is only when the terminal starts to change.

* ``--via pty`` (default): the TUI in a pseudo-terminal read by this process.
* ``--via tmux``: the TUI in a tmux session, tmux being the terminal; keys go in and the
  pane's output comes out through a tmux control-mode client, as tmux reads it.

With ``--feed`` (default) a second process ingests a chat message into the same store every
``--feed-every`` seconds (a busy live channel), so the TUI reloads its view meanwhile.

Figures: p50, p90, p99 and max for ``j`` held and for page down. For other benches,
:func:`measure` returns them as a :class:`Figures` per key (``bench/peers.py`` calls it).
This is a benchmark, not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

TARGETS = {"j": "p50 ≤ 12, p99 ≤ 33, max ≤ 50 ms", "pagedown": "p50 ≤ 20 ms"}


#: A queue row not fetched yet (``   #123 …``): a repaint showing one is not the last.
PLACEHOLDER = re.compile(rb"#\d+ \xe2\x80\xa6")


@dataclass(slots=True)
class Held:
    """What one held key did: per key the seconds to its first and to its last output."""

    first: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)
    #: Keys whose output still ran when the next key went (their figure is a lower bound).
    cut: int = 0
    #: Keys whose repaint showed a row not fetched yet (a second repaint follows).
    placeholders: int = 0


@dataclass(frozen=True, slots=True)
class Figures:
    """Milliseconds from key to finished repaint over ``count`` keys; ``cpu_per_key`` is
    the TUI process's CPU time (user + system) over the run divided by the keys sent, a
    figure the machine's other load does not inflate."""

    key: str
    count: int
    p50: float
    p90: float
    p99: float
    max: float
    first_output_p50: float
    cpu_per_key: float
    cut: int
    placeholders: int


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def figures(key: str, held: Held, presses: int, cpu_seconds: float) -> Figures:
    ms = [v * 1000 for v in held.finished] or [float("nan")]
    return Figures(
        key,
        len(held.finished),
        statistics.median(ms),
        percentile(ms, 0.90),
        percentile(ms, 0.99),
        max(ms),
        statistics.median(held.first) * 1000 if held.first else float("nan"),
        cpu_seconds / presses * 1000,
        held.cut,
        held.placeholders,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tui_environment(columns: int, lines: int) -> dict[str, str]:
    return {
        **os.environ,
        "TERM": "xterm-256color",
        "AGENTCONSOLE_CONFIG": os.devnull,
        "AGENTCONSOLE_AGENT": "bench",
        "COLUMNS": str(columns),
        "LINES": str(lines),
    }


def tui_command(store: Path) -> list[str]:
    return [sys.executable, "-m", "agentconsole.cli", "--store", str(store)]


# -- the live channel -------------------------------------------------------------------------


async def _feed(store_path: Path, every: float) -> None:
    """Ingest one chat message every ``every`` seconds until killed: a new conversation or a
    follow-up in one of the last few, as a busy live chat channel does."""
    from agentconsole.plugin import Author, Identity, InboundMessage
    from agentconsole.store import connect

    store = await connect(store_path, agent="bench-feed")
    await store.ensure_channel("bench-live", "bench", "chat")
    run = uuid.uuid4().hex[:6]
    n = 0
    while True:
        person = n % 7
        message = InboundMessage(
            external_id=f"live-{run}-{n}",
            author=Author(f"Live customer {person}", (Identity("bench-live", f"live{person}"),)),
            body=f"still waiting on my order, message {n}",
            sent_at=datetime.now(UTC),
            subject="",
            thread_key=f"live-{run}-{n // 3}",
        )
        await store.ingest("bench-live", [message], None, update_cursor=False)
        n += 1
        await asyncio.sleep(every)


@contextlib.contextmanager
def feeding(store: Path, every: float | None) -> Iterator[None]:
    """A background process writing into ``store`` while the block runs (None: none)."""
    if every is None:
        yield
        return
    process = subprocess.Popen(
        [sys.executable, __file__, "--store", str(store), "--feed-only", "--feed-every", str(every)]
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(5)


# -- the terminals ------------------------------------------------------------------------


class Terminal:
    """Where the TUI runs: keys go in with :meth:`send`, :meth:`read` tells when output came."""

    #: The TUI's process.
    pid: int

    def __init__(self) -> None:
        self.buffer = b""
        #: What the last :meth:`read` brought.
        self.chunk = b""

    def send(self, key: str) -> None:
        raise NotImplementedError

    def _read(self, timeout: float) -> bytes | None:
        raise NotImplementedError

    def read(self, timeout: float) -> float | None:
        """Wait up to ``timeout`` s for output; the time it arrived, or None."""
        data = self._read(max(0.0, timeout))
        if not data:
            return None
        arrived = time.perf_counter()
        self.chunk = data
        self.buffer = self.buffer[-65536:] + data
        return arrived

    def wait_for(self, marker: bytes, timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.read(0.05)
            if marker in self.buffer:
                return True
        return False

    def drain(self, quiet: float, most: float = 10.0) -> None:
        """Read until the output has been quiet for ``quiet`` s (at most ``most`` s: a live
        channel's changes keep repainting)."""
        deadline = time.perf_counter() + most
        while self.read(quiet) is not None and time.perf_counter() < deadline:
            pass

    def held(self, key: str, presses: int, repeat: float, quiet: float) -> Held:
        """Send ``key`` ``presses`` times, one every ``repeat`` s; per key the seconds to its
        first and to its last output before ``quiet`` s of silence (or the next key)."""
        held = Held()
        next_send = time.perf_counter()
        for _ in range(presses):
            while (left := next_send - time.perf_counter()) > 0:
                self.read(left)  # what arrives meanwhile belongs to no key
            sent = time.perf_counter()
            self.send(key)
            next_send = sent + repeat
            first_at: float | None = None
            last_at: float | None = None
            placeholder = False
            while True:
                limit = next_send - time.perf_counter()
                if limit <= 0:
                    held.cut += last_at is not None
                    break
                arrived = self.read(min(quiet, limit) if last_at is not None else limit)
                if arrived is None:
                    if last_at is not None:
                        break  # quiet: the repaint is finished
                    continue
                first_at = first_at or arrived
                last_at = arrived
                placeholder = placeholder or bool(PLACEHOLDER.search(self.chunk))
            if first_at is not None and last_at is not None:
                held.first.append(first_at - sent)
                held.finished.append(last_at - sent)
                held.placeholders += placeholder
        return held

    def press(self, key: str, quiet: float = 0.05) -> None:
        """Send ``key`` and read until its output has been quiet for ``quiet`` s."""
        self.send(key)
        self.drain(quiet)

    def close(self) -> None:
        raise NotImplementedError


class PtyTerminal(Terminal):
    """The real TUI in a pseudo-terminal, its output read as a terminal would."""

    KEYS = {"j": b"j", "pagedown": b"\x1b[6~", "quit": b"q", "enter": b"\r", "escape": b"\x1b"}

    def __init__(self, store: Path, columns: int, lines: int) -> None:
        super().__init__()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(sys.executable, tui_command(store), tui_environment(columns, lines))
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))

    def send(self, key: str) -> None:
        """``key``: a name in :attr:`KEYS`, or a character typed as it is."""
        os.write(self.fd, self.KEYS.get(key) or key.encode())

    def _read(self, timeout: float) -> bytes | None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        try:
            return os.read(self.fd, 1 << 20)
        except OSError:
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send("quit")
        deadline = time.time() + 5
        while time.time() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return
            self.read(0.1)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)


class TmuxTerminal(Terminal):
    """The real TUI in a tmux session, tmux being the terminal. Keys are sent and output is
    seen through a control-mode client (``tmux -C``): its ``%output`` lines come as tmux
    reads the pane, so no process is started per look (``capture-pane`` takes 10–40 ms
    here on a loaded machine, and would time tmux rather than the TUI)."""

    KEYS = {"j": "j", "pagedown": "NPage", "quit": "q"}

    def __init__(self, store: Path, columns: int, lines: int) -> None:
        super().__init__()
        self.name = "repaint-" + uuid.uuid4().hex[:8]
        #: A tmux server of its own (``-L``), ended with the session.
        self.tmux = ["tmux", "-L", self.name]
        environment = tui_environment(columns, lines)
        exports = [f"{k}={environment[k]}" for k in ("AGENTCONSOLE_CONFIG", "AGENTCONSOLE_AGENT")]
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", self.name, "-x", str(columns), "-y", str(lines)]
            + ["env", *exports, *tui_command(store)],
            check=True,
        )
        self.pid = int(
            subprocess.run(
                [*self.tmux, "display-message", "-p", "-t", self.name, "#{pane_pid}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        self.client = subprocess.Popen(
            [*self.tmux, "-C", "attach-session", "-f", "ignore-size", "-t", self.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.client.stdin is not None and self.client.stdout is not None
        self._in, self._out = self.client.stdin, self.client.stdout.fileno()
        self._partial = b""

    def send(self, key: str) -> None:
        self._in.write(f"send-keys -t {self.name} {self.KEYS[key]}\n".encode())
        self._in.flush()

    def _read(self, timeout: float) -> bytes | None:
        """The pane output among what the control client wrote (its replies are dropped)."""
        deadline = time.perf_counter() + timeout
        while True:
            ready, _, _ = select.select(
                [self._out], [], [], max(0.0, deadline - time.perf_counter())
            )
            if not ready:
                return None
            data = os.read(self._out, 1 << 20)
            if not data:
                return None
            lines = (self._partial + data).split(b"\n")
            self._partial = lines.pop()
            output = b"".join(line for line in lines if line.startswith(b"%output "))
            if output:
                return output

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.send("quit")
            time.sleep(0.5)
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)
        self.client.wait(5)


def measure_in(terminal: Terminal, presses: int, repeat: float, quiet: float) -> list[Figures]:
    try:
        if not terminal.wait_for(b"Customer", timeout=60):
            raise SystemExit("the TUI never showed queue rows")
        terminal.drain(3.0, most=8.0)  # the first reload (index, counts) done
        results = []
        for key in ("j", "pagedown"):
            cpu = cpu_seconds(terminal.pid)
            held = terminal.held(key, presses, repeat, quiet)
            results.append(figures(key, held, presses, cpu_seconds(terminal.pid) - cpu))
            terminal.drain(0.5)
        return results
    finally:
        terminal.close()


# -- the whole run ----------------------------------------------------------------------------


def measure(
    store: Path,
    *,
    via: str = "pty",
    size: str = "160x45",
    presses: int = 200,
    repeat: float = 1 / 30,
    quiet: float = 0.004,
    feed_every: float | None = 0.5,
) -> list[Figures]:
    """Key → finished repaint of the TUI on ``store`` for ``j`` and page down held, with a
    live channel writing every ``feed_every`` s (None: nothing written meanwhile)."""
    columns, lines = (int(part) for part in size.split("x"))
    kind = TmuxTerminal if via == "tmux" else PtyTerminal
    with feeding(store, feed_every):
        return measure_in(kind(store, columns, lines), presses, repeat, quiet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=Path("bench/out/scale.db"))
    parser.add_argument("--via", choices=("pty", "tmux"), default="pty")
    parser.add_argument("--size", default="160x45", help="COLUMNSxLINES")
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--repeat", type=float, default=1 / 30, help="s between held keys (pty)")
    parser.add_argument("--quiet", type=float, default=0.004, help="s of silence ending a repaint")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--feed-every", type=float, default=0.5)
    parser.add_argument("--no-feed", action="store_true", help="no live channel meanwhile")
    parser.add_argument("--feed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.feed_only:
        asyncio.run(_feed(args.store, args.feed_every))
        return
    if not args.store.exists():
        raise SystemExit(f"{args.store} does not exist: build one with bench/scale.py first")
    feed = None if args.no_feed else args.feed_every
    print(
        f"repaint via {args.via} at {args.size}, {args.presses} presses, "
        f"live feed every {feed}s — {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  {'key':<9} {'p50':>6} {'p90':>6} {'p99':>6} {'max':>6} {'first':>6} "
        f"{'cpu/key':>7} {'cut':>4} {'ph':>3}   (ms; cut: ran into the next key, ph: showed "
        "an unfetched row)"
    )
    for run in range(args.runs):
        for result in measure(
            args.store,
            via=args.via,
            size=args.size,
            presses=args.presses,
            repeat=args.repeat,
            quiet=args.quiet,
            feed_every=feed,
        ):
            print(
                f"  {result.key:<9} {result.p50:6.1f} {result.p90:6.1f} {result.p99:6.1f} "
                f"{result.max:6.1f} {result.first_output_p50:6.1f} {result.cpu_per_key:7.2f} "
                f"{result.cut:4} {result.placeholders:3}   "
                f"run {run + 1}, load {os.getloadavg()[0]:.1f}; {TARGETS[result.key]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
