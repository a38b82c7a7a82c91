"""Log lines are text, not terminal input, and a flood of one error is one line a minute.

Everything a channel logs may carry outside data (a sender's id, a server's answer), and
whoever tails the journal reads it in a terminal. So every record passes through the same
neutralizing as the display: control sequences become visible stand-ins, and a message
cannot forge a second log line (its line breaks are folded; only a traceback keeps its own).
"""

from __future__ import annotations

import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TextIO

from .sanitize import clean

FORMAT = "%(levelname)s %(name)s: %(message)s"
#: Repeats of one message (same logger, level and template) within this many seconds are
#: counted, not written.
REPEAT_INTERVAL = 60.0
_MAX_TRACKED = 512


class SafeFormatter(logging.Formatter):
    """Formats a record with its message on one line and no control sequence anywhere."""

    def format(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord(record.__dict__)
        safe.msg = clean(record.getMessage(), multiline=False)
        safe.args = None
        return clean(super().format(safe), multiline=True)


class _Window:
    """A run of one message: when it started, how many repeats were dropped since (a plain
    class: every command configures the log, and a dataclass costs its code generation)."""

    __slots__ = ("started", "suppressed")

    def __init__(self, started: float) -> None:
        self.started = started
        self.suppressed = 0


class RepeatFilter(logging.Filter):
    """Lets the first of a run of identical messages through, drops the repeats for
    ``interval`` seconds and says how many there were on the next one that passes."""

    def __init__(
        self, interval: float = REPEAT_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._windows: OrderedDict[tuple[str, int, str], _Window] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        window = self._windows.get(key)
        if window is not None and now - window.started < self.interval:
            window.suppressed += 1
            return False
        if window is not None and window.suppressed:
            record.msg = f"{record.msg} [{window.suppressed} more like this in the last "
            record.msg += f"{self.interval:.0f} s]".replace("%", "%%")
        self._windows[key] = _Window(now)
        self._windows.move_to_end(key)
        while len(self._windows) > _MAX_TRACKED:
            self._windows.popitem(last=False)
        return True


def configure(verbose: bool, stream: TextIO | None = None) -> logging.Handler:
    """Send the process's log to ``stream`` (stderr): warnings, or everything from INFO up
    with ``verbose``. Returns the handler (tests read what it wrote)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(SafeFormatter(FORMAT))
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    return handler
