"""The command line's log, set up when it is first written to.

A script's read (``list``, ``show``, ``search`` on a read-only connection) has nothing to
log unless its store needs a warning, and the ``logging`` package is milliseconds of its
start. So the command line says how its log is to be set up (:func:`configure`), and
:mod:`.logs` — with ``logging`` — is loaded and the handler installed only by the first
:func:`warning`, or by :func:`configure_now` before code that logs through ``logging``
directly runs.
"""

from __future__ import annotations

#: The verbosity the command line asked for, until its log is set up (empty: set up
#: already, or never asked for — then a warning goes to ``logging`` as the process set it).
_pending: list[bool] = []


def configure(verbose: bool) -> None:
    """Set up the log as :func:`agentconsole.logs.configure` does, when it is first used."""
    _pending[:] = [verbose]


def configure_now() -> None:
    """Set up the log now if :func:`configure` asked for it and it is not yet."""
    if _pending:
        from . import logs

        logs.configure(_pending.pop())


def warning(name: str, message: str) -> None:
    """Log ``message`` (already one line) as a warning of logger ``name``."""
    configure_now()
    import logging

    logging.getLogger(name).warning("%s", message)
