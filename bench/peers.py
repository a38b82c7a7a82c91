#!/usr/bin/env python3
"""agentconsole side by side with notmuch, mu and mbsync, on the same generated mailbox.

    python bench/peers.py                              # 20,000 and 100,000 messages
    python bench/peers.py --sizes 20000 --imap-sizes 10000 --runs 3

Every line of issue 14's table, each tool on the same gen_corpus Maildir (realistic support
mail: multipart, charsets, quoting, attachments), each measure repeated (``--runs`` for the
long ones, ``--query-runs`` for the commands) in turn, tool after tool, so load that comes
and goes on a shared machine falls on all of them; each cell is the median with the range
(min–max) of those runs, the median CPU time of the process tree, and for ingest and sync the
peak resident memory of the whole process tree (its processes' RSS summed, sampled every
50 ms). The load average is printed with every line (bench/side_by_side.py measures).

* Maildir ingest: ``agentconsole sync --once`` of a maildir channel into a fresh store, vs
  ``notmuch new`` and ``mu index`` into fresh databases.
* IMAP initial sync from a local Dovecot (started as the integration tests start it):
  ``agentconsole sync --once`` of an IMAP channel vs ``mbsync`` pulling INBOX to a Maildir.
* ``search WORD --json | head -50`` as a process (the corpus's common and rare word) vs
  ``notmuch search --limit=50 WORD`` and ``mu find --maxnum=50 WORD``, on the stores the
  ingest line built.
* ``list --json --limit 50`` vs ``notmuch search --limit 50 '*'`` and ``mu find --maxnum=50 ''``.
* cursor key → screen changed, seen through tmux (the shared tui_drive.py, ``--attrs``):
  p50 / p90 / max of ``--keys`` presses of ``j``, one line per run.

A peer that is not installed (Debian: ``apt-get install notmuch maildir-utils isync``) or not
chosen with ``--peers`` gets a note instead of its column; nothing here fails on a figure.
Work files go to bench/out/peers/ (git-ignored); ``--keep`` leaves the stores this run built
there, for the next run to reuse (the search, list and repaint lines build them if absent).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus as corpora  # noqa: E402 - bench/ is on the path only now
from side_by_side import Cell, Line, Run, load, measure, print_table, run_shell, run_tree  # noqa: E402

ROOT = corpora.ROOT
WORK = corpora.OUT / "peers"
SUPPORT = "support@acme-support.example"
PEERS = {"notmuch": "notmuch", "mu": "maildir-utils", "mbsync": "isync"}


# -- the tools --------------------------------------------------------------------------------


#: The peers to run (``--peers``); the others get a note instead of a column.
chosen_peers: set[str] = set(PEERS)


def installed(peer: str) -> bool:
    return shutil.which(peer) is not None


def will_run(peer: str) -> bool:
    return peer in chosen_peers and installed(peer)


def agentconsole_command() -> list[str]:
    script = Path(sys.executable).parent / "agentconsole"
    return [str(script)] if script.exists() else [sys.executable, "-m", "agentconsole"]


@dataclass(frozen=True, slots=True)
class Ours:
    """agentconsole with its own config, store and XDG folders under ``home``."""

    home: Path

    @property
    def store(self) -> Path:
        return self.home / "store.db"

    @property
    def config(self) -> Path:
        return self.home / "config.toml"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCONSOLE_")}
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            env[name] = str(self.home / "xdg" / name.lower())
        return env | extra

    def command(self, *args: str) -> list[str]:
        return [
            *agentconsole_command(),
            "--config",
            str(self.config),
            "--store",
            str(self.store),
            *args,
        ]

    def fresh(self, channel: dict[str, object]) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)
        lines = ["[channels.mail]", 'type = "email"', f'from_address = "{SUPPORT}"']
        lines += [f"{key} = {toml_value(value)}" for key, value in channel.items()]
        self.config.write_text("\n".join(lines) + "\n")


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Notmuch:
    home: Path
    maildir: Path

    def env(self) -> dict[str, str]:
        return os.environ | {"NOTMUCH_CONFIG": str(self.home / "notmuch.cfg")}

    def fresh(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        (self.home / "db").mkdir(parents=True)
        (self.home / "notmuch.cfg").write_text(
            f"[database]\npath={self.home / 'db'}\nmail_root={self.maildir}\n"
            "[user]\nname=Bench\nprimary_email=bench@example.org\n"
            "[new]\ntags=unread;inbox\n[maildir]\nsynchronize_flags=false\n"
        )


@dataclass(frozen=True, slots=True)
class Mu:
    home: Path
    maildir: Path

    def fresh(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        subprocess.run(
            ["mu", "init", f"--muhome={self.home}", f"--maildir={self.maildir}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def missing(line: Line, *peers: str) -> dict[str, bool]:
    """Which of ``peers`` can run; a note on ``line`` for each that cannot."""
    present = {}
    for peer in peers:
        present[peer] = will_run(peer)
        if peer not in chosen_peers:
            line.notes.append(f"{peer} not run (not in --peers)")
        elif not present[peer]:
            line.notes.append(f"{peer} not installed (apt-get install {PEERS[peer]}): no column")
    return present


# -- the measures -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stores:
    """The stores of one corpus size, as the ingest line leaves them."""

    ours: Ours
    notmuch: Notmuch
    mu: Mu
    maildir: Path


#: The folders this run made under WORK: the ones removed at the end (without ``--keep``),
#: so that a run never deletes the stores of another one running beside it.
made: set[Path] = set()


def stores(size: int) -> Stores:
    maildir = corpora.corpus(size)
    folder = WORK / f"maildir-{size}"
    made.add(folder)
    return Stores(
        Ours(folder / "agentconsole"),
        Notmuch(folder / "notmuch", maildir),
        Mu(folder / "mu", maildir),
        maildir,
    )


def maildir_ingest(size: int, runs: int) -> Line:
    at = stores(size)
    line = Line(f"Maildir ingest, {size:,} messages")
    present = missing(line, "notmuch", "mu")

    def ours() -> Run:
        at.ours.fresh({"maildir": str(at.maildir)})
        return run_tree(at.ours.command("sync", "--once"), at.ours.env())

    tools: dict[str, Callable[[], Run]] = {"agentconsole": ours}
    if present["notmuch"]:

        def notmuch() -> Run:
            at.notmuch.fresh()
            return run_tree(["notmuch", "new", "--quiet"], at.notmuch.env())

        tools["notmuch"] = notmuch
    if present["mu"]:

        def mu() -> Run:
            at.mu.fresh()
            return run_tree(["mu", "index", "--quiet", f"--muhome={at.mu.home}"], dict(os.environ))

        tools["mu"] = mu
    measure(line, tools, runs, progress=True)
    ours_cell = line.cells["agentconsole"]
    if all(r.ok for r in ours_cell.runs):
        line.notes.append(f"agentconsole {size / ours_cell.median:,.0f} msg/s (median)")
    return line


def ensure_indexed(size: int) -> Stores:
    """The stores of ``size`` built once (by the ingest line, or here if it did not run)."""
    at = stores(size)
    if not at.ours.store.exists():
        at.ours.fresh({"maildir": str(at.maildir)})
        subprocess.run(
            at.ours.command("sync", "--once"),
            env=at.ours.env(),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if will_run("notmuch") and not (at.notmuch.home / "db" / "xapian").exists():
        at.notmuch.fresh()
        subprocess.run(["notmuch", "new", "--quiet"], env=at.notmuch.env(), check=True)
    if will_run("mu") and not (at.mu.home / "xapian").exists():
        at.mu.fresh()
        subprocess.run(
            ["mu", "index", "--quiet", f"--muhome={at.mu.home}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return at


def command_line(work: str, at: Stores, ours: str, notmuch: str, mu: str, runs: int) -> Line:
    """One read-only command as a whole process, each tool's form of it."""
    line = Line(work, unit="ms")
    present = missing(line, "notmuch", "mu")
    tools: dict[str, Callable[[], Run]] = {
        "agentconsole": lambda: run_shell(ours, at.ours.env()),
    }
    if present["notmuch"]:
        tools["notmuch"] = lambda: run_shell(notmuch, at.notmuch.env())
    if present["mu"]:
        # mu find exits 4 when nothing matches.
        tools["mu"] = lambda: run_shell(mu, dict(os.environ), ok_codes=(0, 4))
    return measure(line, tools, runs, warm_up=True)


def read_commands(size: int, runs: int) -> list[Line]:
    at = ensure_indexed(size)
    words = corpora.manifest(size)["words"]
    assert isinstance(words, dict)
    lines = []
    for kind in ("common", "rare"):
        word = str(words[kind])
        lines.append(
            command_line(
                f"`search {word} --json \\| head -50` ({kind} word), {size:,}",
                at,
                shlex.join(at.ours.command("search", word, "--json")) + " | head -50",
                f"notmuch search --limit=50 {shlex.quote(word)}",
                f"mu find --muhome={shlex.quote(str(at.mu.home))} --maxnum=50 {shlex.quote(word)}",
                runs,
            )
        )
    lines.append(
        command_line(
            f"`list --json --limit 50`, {size:,}",
            at,
            shlex.join(at.ours.command("list", "--json", "--limit", "50")),
            "notmuch search --limit 50 '*'",
            f"mu find --muhome={shlex.quote(str(at.mu.home))} --maxnum=50 ''",
            runs,
        )
    )
    return lines


REPAINT = re.compile(r"keys 'j': screen changed after ([0-9.]+)s")


def repaint(size: int, runs: int, presses: int, tui_drive: Path) -> Line:
    """Cursor key → screen changed through tmux, on the store the ingest line built."""
    at = ensure_indexed(size)
    line = Line(f"cursor key → screen changed (tmux), {size:,} messages", unit="ms")
    if not installed("tmux"):
        line.notes.append("tmux not installed (apt-get install tmux): not measured")
        return line
    conversations = subprocess.run(
        at.ours.command("list", "--status", "any", "--limit", "1000000", "--json"),
        env=at.ours.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.count("\n")
    quiet = Ours(at.ours.home.parent / "agentconsole-tui")
    quiet.home.mkdir(parents=True, exist_ok=True)
    quiet.config.write_text("")  # no channel: the repaint alone, no sync in the background
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in quiet.env().items() if k.startswith("XDG_"))
    command = f"env {env} " + shlex.join(
        [*agentconsole_command(), "--config", str(quiet.config), "--store", str(at.ours.store)]
    )
    before = load()
    per_run = []
    for _ in range(runs):
        result = subprocess.run(
            [
                sys.executable,
                str(tui_drive),
                "--cmd",
                command,
                "--size",
                "120x40",
                "--attrs",
                "--min-lines",
                "20",
                "--timeout",
                "30",
                *["--keys=j" for _ in range(presses)],
            ],
            capture_output=True,
            text=True,
        )
        times = sorted(float(t) * 1000 for t in REPAINT.findall(result.stdout))
        if result.returncode != 0 or not times:
            line.notes.append(f"tui_drive failed: {result.stdout[-300:]}")
            continue
        p50, p90 = statistics.median(times), times[int(0.9 * (len(times) - 1))]
        per_run.append(f"{p50:.0f} / {p90:.0f} / {max(times):.0f}")
        line.cells.setdefault("agentconsole", Cell()).runs.append(Run(p50 / 1000, None))
    line.load = f"{before} → {load()}"
    line.notes.append(
        f"p50 / p90 / max ms per run ({presses} presses of j, {conversations:,} conversations): "
        + "; ".join(per_run)
        + " — one frame is 16 ms; tui_drive polls every 5 ms, so a figure is up to ~5 ms late"
    )
    print(f"  {line.work}: {'; '.join(per_run)}", flush=True)
    return line


def serve_over_imap(maildir: Path):  # noqa: ANN201 - the conftest's Dovecot
    """A Dovecot started as the integration tests start it (their helper, imported), with
    ``maildir`` as user1's INBOX; raises RuntimeError/OSError when it cannot start."""
    sys.path.insert(0, str(ROOT))
    from tests.integration.conftest import launch_dovecot

    server = launch_dovecot(users=1)
    try:
        home = server.root / "mail" / "user1" / "Maildir"
        shutil.copytree(maildir, home)
        for path in [home, *home.rglob("*")]:
            os.chown(path, server.mail_uid, server.mail_gid)
        # Dovecot reads the folder and writes its uid list once, before any timed run.
        server.doveadm("mailbox", "status", "-u", "user1", "messages", "INBOX")
    except BaseException:
        stop_serving(server)
        raise
    return server


def stop_serving(server) -> None:  # noqa: ANN001
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


def imap_sync(size: int, runs: int) -> Line:
    line = Line(f"IMAP initial sync, {size:,} messages, local Dovecot")
    present = missing(line, "mbsync")
    maildir = corpora.corpus(size)
    folder = WORK / f"imap-{size}"
    try:
        server = serve_over_imap(maildir)
    except (RuntimeError, OSError) as error:
        line.notes.append(f"Dovecot could not start ({error}): not measured")
        return line
    try:
        user = "user1"
        password, port = server.users[user], server.port
        ours_at = Ours(folder / "agentconsole")
        channel = {
            "imap_host": "127.0.0.1",
            "imap_port": port,
            "imap_tls": "none",
            "username": user,
            "password_env": "BENCH_IMAP_PASSWORD",
            "idle": False,
        }

        def ours() -> Run:
            ours_at.fresh(channel)
            env = ours_at.env(BENCH_IMAP_PASSWORD=password)
            return run_tree(ours_at.command("sync", "--once"), env)

        tools: dict[str, Callable[[], Run]] = {"agentconsole": ours}
        if present["mbsync"]:
            mbsync_home = folder / "mbsync"

            def mbsync() -> Run:
                shutil.rmtree(mbsync_home, ignore_errors=True)
                (mbsync_home / "mail").mkdir(parents=True)
                config = mbsync_home / "mbsyncrc"
                config.write_text(
                    f"IMAPAccount bench\nHost 127.0.0.1\nPort {port}\nUser {user}\n"
                    f"Pass {password}\nSSLType None\nAuthMechs LOGIN\n\n"
                    "IMAPStore remote\nAccount bench\n\n"
                    f"MaildirStore local\nPath {mbsync_home / 'mail'}/\n"
                    f"Inbox {mbsync_home / 'mail' / 'INBOX'}\n\n"
                    "Channel bench\nFar :remote:\nNear :local:\nPatterns INBOX\n"
                    f"Create Near\nSync Pull\nSyncState *\n"
                )
                return run_tree(["mbsync", "-q", "-c", str(config), "bench"], dict(os.environ))

            tools["mbsync"] = mbsync
        measure(line, tools, runs, progress=True)
        line.notes.append("mbsync: its defaults (FSync yes); it copies files, no parsing or index")
    finally:
        stop_serving(server)
        shutil.rmtree(folder, ignore_errors=True)
    return line


# -- main -------------------------------------------------------------------------------------


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[20_000, 100_000],
        help="Maildir corpus sizes: ingest, search, list, repaint",
    )
    parser.add_argument("--imap-sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3, help="runs of ingest, sync, repaint")
    parser.add_argument("--query-runs", type=int, default=10, help="runs of search and list")
    parser.add_argument("--presses", type=int, default=40, help="cursor keys per repaint run")
    parser.add_argument(
        "--only",
        nargs="*",
        choices=("ingest", "imap", "search", "repaint"),
        help="measure only these (default: all)",
    )
    parser.add_argument(
        "--peers",
        nargs="*",
        choices=tuple(PEERS),
        default=list(PEERS),
        help="the peers to run beside agentconsole (default: all installed)",
    )
    parser.add_argument("--generator", type=Path, help=corpora.GENERATOR_HELP)
    parser.add_argument(
        "--tui-drive",
        type=Path,
        help="the shared tui_drive.py (default: $AGENTCONSOLE_TUI_DRIVE, else shared/tools/ or tools/ in a folder above this repository)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the stores in bench/out/peers")
    args = parser.parse_args()
    only = set(args.only or ("ingest", "imap", "search", "repaint"))
    corpora.generator_option = args.generator
    chosen_peers.intersection_update(args.peers)
    try:
        for size in {*args.sizes, *args.imap_sizes}:
            corpora.corpus(size)
        tui_drive = None
        if "repaint" in only:
            tui_drive = corpora.find_tool(
                "tui_drive.py", args.tui_drive, "--tui-drive", "AGENTCONSOLE_TUI_DRIVE"
            )
    except corpora.ToolNotFound as error:
        sys.exit(f"peers.py: {error}")
    version = subprocess.run(
        [*agentconsole_command(), "--version"], capture_output=True, text=True
    ).stdout.strip()
    head = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %cs"], capture_output=True, text=True
    ).stdout.strip()
    print(f"agentconsole {version} at {head} vs its peers, {os.cpu_count()} cores")
    print(f"start: {uptime()}", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    lines: list[Line] = []
    try:
        for size in args.sizes:
            if "ingest" in only:
                lines.append(maildir_ingest(size, args.runs))
            if "search" in only:
                lines.extend(read_commands(size, args.query_runs))
            if "repaint" in only and tui_drive is not None:
                lines.append(repaint(size, args.runs, args.presses, tui_drive))
        if "imap" in only:
            for size in args.imap_sizes:
                lines.append(imap_sync(size, args.runs))
    finally:
        if not args.keep:
            for folder in made:
                shutil.rmtree(folder, ignore_errors=True)
    print(f"end: {uptime()}")
    print_table(lines)


if __name__ == "__main__":
    main()
