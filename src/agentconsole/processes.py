"""Who a process is, precisely enough to tell later whether it still runs.

A pid alone is not enough: after a crash the kernel may give the same pid to another
process. The start time (``/proc/PID/stat`` field 22, clock ticks since boot) together with
the boot id tells the two apart, and the pid namespace keeps two containers that share a
host name from judging each other's pids, so a lease is never taken from a live owner nor
kept for a dead one.
"""

from __future__ import annotations

import os
from pathlib import Path

from .models import record

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


@record
class ProcessIdentity:
    """A process: its host name, pid and start (``"<boot id>/<pid namespace>:<start
    ticks>"``, or ``None`` where the system does not say)."""

    host: str
    pid: int
    started: str | None


def start_of(pid: int) -> str | None:
    """``"<boot id>/<pid namespace>:<start ticks>"`` of process ``pid`` as this process sees
    it, or None when it does not run (or is a zombie) or the system has no ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        boot = BOOT_ID.read_text(encoding="ascii").strip()
        namespace = os.readlink("/proc/self/ns/pid").partition("[")[2].rstrip("]")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count after the last ")".
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # a zombie has stopped running
        return None
    return f"{boot}/{namespace}:{fields[19]}"


def _where(started: str) -> str:
    """The boot and pid namespace part of a start: pids compare only within one."""
    return started.rpartition(":")[0]


def current() -> ProcessIdentity:
    """This process."""
    pid = os.getpid()
    import socket  # only a lease needs the host name: not every command that reads

    return ProcessIdentity(socket.gethostname(), pid, start_of(pid))


def is_gone(process: ProcessIdentity) -> bool:
    """True only when ``process`` certainly no longer runs: it ran on this host (same host
    name and, when known, the same boot) and no process with its pid and start time exists.

    False when it may still run, including every process on another host: only expiry tells
    about those.
    """
    here = current()
    if process.host != here.host:
        return False
    if process.started is not None and here.started is not None:
        if _where(process.started) != _where(here.started):
            # Another boot (a reboot, another machine under the same name) or another pid
            # namespace (a container under the same name): its pids mean nothing here.
            return False
        return start_of(process.pid) != process.started
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return False


def unix_account() -> str:
    """The account this process runs as, from its effective uid — not ``$LOGNAME`` or
    ``$USER``, which anyone can set (``LOGNAME=mallory`` must not act as mallory)."""
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # an uid without a passwd entry (some containers)
        return f"uid{os.geteuid()}"
