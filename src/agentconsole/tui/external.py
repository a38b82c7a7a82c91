"""Handing the terminal to another program: ``$EDITOR`` for a reply, ``$PAGER`` for the
original of a message. The app is suspended while it runs (``App.suspend``); a headless
app (tests) has no terminal to hand over and runs the program as it is."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textual.app import App, SuspendNotSupported

from ..sanitize import clean
from .messages import Notice


@contextlib.contextmanager
def _terminal_handed_over(app: App[Any]) -> Iterator[None]:
    if app.is_headless:
        yield
    else:
        with app.suspend():
            yield


def _run(app: App[Any], command: str, path: Path) -> Notice | None:
    """Run ``command path`` with the terminal; a :class:`Notice` says why it did not work."""
    try:
        with _terminal_handed_over(app):
            result = subprocess.run([*shlex.split(command), str(path)], check=False)
    except SuspendNotSupported:
        return Notice(f"Cannot run {command} here (the terminal cannot be suspended).", "warning")
    except (OSError, ValueError) as error:
        return Notice(f"Cannot run {command}: {error}", "error")
    if result.returncode != 0:
        return Notice(f"{command} exited with {result.returncode}", "warning")
    return None


def edit_text(app: App[Any], body: str) -> tuple[str | None, Notice | None]:
    """Edit ``body`` in ``$VISUAL``/``$EDITOR`` (default ``vi``): (the new text, or ``None``
    with a notice saying why the draft is unchanged)."""
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    handle, name = tempfile.mkstemp(prefix="agentconsole-", suffix=".txt")
    path = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(body)
        problem = _run(app, command, path)
        if problem is not None:
            return None, Notice(problem.text + "; draft unchanged", problem.severity)
        return path.read_text(encoding="utf-8", errors="replace"), None
    finally:
        path.unlink(missing_ok=True)


def source_for_display(raw: bytes, saved_at: Path) -> str:
    """What the pager shows of an original message: where its bytes are saved, then the
    message decoded leniently and cleaned, so no control sequence reaches the terminal."""
    text = raw.decode("utf-8", errors="replace")
    head = f"The original ({len(raw)} bytes, unchanged) is saved at {saved_at}\n\n"
    return clean(head) + clean(text, tab_size=8)


def page_source(app: App[Any], message_id: int, raw: bytes) -> Notice:
    """Save ``raw`` to a private file (0600, in a private folder) and show it cleaned in
    ``$PAGER`` (default ``less``). The saved file keeps the exact bytes; what the pager reads
    is a separate cleaned copy, removed afterwards. Returns what to tell the agent."""
    folder = Path(tempfile.mkdtemp(prefix="agentconsole-source-"))
    saved = folder / f"message-{message_id}.eml"
    shown = folder / f"message-{message_id}.txt"
    for path, data in ((saved, raw), (shown, source_for_display(raw, saved).encode())):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
    try:
        problem = _run(app, os.environ.get("PAGER") or "less", shown)
    finally:
        shown.unlink(missing_ok=True)
    if problem is not None:
        return Notice(f"{problem.text}; the original is saved at {saved}", problem.severity)
    return Notice(f"The original of message {message_id} is saved at {saved}")
