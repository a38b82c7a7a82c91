"""A folder made read-only for a test, the way an operator meets it.

Not as root: the files and the folder lose their write bits. As root (who writes through
permission bits) the folder is bind-mounted read-only, like a store on a read-only mount.
A system that allows neither skips locally and fails under CI.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """Yield a path to ``folder`` through which nothing can be written."""
    if os.geteuid() != 0:
        modes = {path: path.stat().st_mode for path in [folder, *folder.iterdir()]}
        for path in modes:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield folder
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    target = Path(tempfile.mkdtemp(prefix="agentconsole-ro-"))
    mounted = subprocess.run(
        ["mount", "--bind", str(folder), str(target)], capture_output=True, text=True
    )
    if mounted.returncode == 0:
        mounted = subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(target)], capture_output=True, text=True
        )
        if mounted.returncode != 0:
            subprocess.run(["umount", str(target)], capture_output=True)
    if mounted.returncode != 0:
        target.rmdir()
        reason = f"cannot make a read-only mount as root: {mounted.stderr.strip()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield target
    finally:
        if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
            # A file still open (a failing test) must not leave the mount behind.
            subprocess.run(["umount", "-l", str(target)], capture_output=True)
        with contextlib.suppress(OSError):
            target.rmdir()
