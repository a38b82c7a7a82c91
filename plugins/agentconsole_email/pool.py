"""Parsing batches of messages on every core while the core writes the previous batch.

Small batches (a few new mails) are parsed in a thread; large ones (an initial sync, a
Maildir import) are split into chunks parsed by worker processes (``spawn``: no fork of a
threaded process). Maildir files are read by the workers themselves, so the bytes cross a
process boundary once. Parsed messages come back as plain tuples (:mod:`.wire`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from typing import TypeVar

from agentconsole.plugin import InboundMessage

from . import wire
from .maildir import read_file
from .parse import ParseSettings, parse_safely

log = logging.getLogger(__name__)

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

#: Batches at least this large go to the worker processes.
POOL_THRESHOLD = 64
CHUNK = 64
WORKER_NICENESS = 10


def _parse_raws(
    settings: ParseSettings, items: Sequence[tuple[bytes, datetime | None]]
) -> list[wire.Wire]:
    """The raw bytes stay with the caller (they are not shipped back)."""
    return [
        wire.encode(parse_safely(raw, settings, fallback_date=date, keep_raw=False))
        for raw, date in items
    ]


def _parse_files(
    settings: ParseSettings, files: Sequence[tuple[str, float]]
) -> list[wire.Wire | None]:
    out: list[wire.Wire | None] = []
    for path, modified in files:
        raw = read_file(path)
        if raw is None:
            out.append(None)
            continue
        # Delivery time stands in for a missing or unreadable Date header.
        fallback = datetime.fromtimestamp(modified, UTC)
        out.append(wire.encode(parse_safely(raw, settings, fallback_date=fallback)))
    return out


def _ready() -> None:
    """A task that only makes the pool start a worker process."""


def _lower_priority() -> None:
    """Workers yield the CPU to the process storing their results: parsing outpaces the
    store's single writer, so the writer is what must not wait."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICENESS)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


class Parser:
    """Parses raw messages for one channel; ``close`` stops the workers."""

    def __init__(self, settings: ParseSettings, workers: int | None = None) -> None:
        self.settings = settings
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None
        #: :meth:`expect` is called from a fetching thread.
        self._starting = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._starting:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_lower_priority,
                )
            return self._pool

    def expect(self, count: int) -> None:
        """``count`` messages are about to arrive: when they are many, the worker processes
        are started now, so their start-up (imports, a few hundred ms) overlaps the fetch
        instead of following it. Safe to call from any thread."""
        if count < POOL_THRESHOLD:
            return
        pool = self._executor()
        # Closed meanwhile (the channel stops) or broken: the parse says so, not this.
        with contextlib.suppress(RuntimeError):
            for _ in range(self.workers):
                pool.submit(_ready)

    async def _chunks(
        self,
        function: Callable[[ParseSettings, Sequence[_Item]], list[_Result]],
        items: Sequence[_Item],
    ) -> list[_Result]:
        loop = asyncio.get_running_loop()
        if len(items) < POOL_THRESHOLD:
            return await asyncio.to_thread(function, self.settings, items)
        pool = self._executor()
        futures = [
            loop.run_in_executor(pool, function, self.settings, items[i : i + CHUNK])
            for i in range(0, len(items), CHUNK)
        ]
        try:
            chunks = await asyncio.gather(*futures)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): parse here rather than fail the batch.
            log.warning("a parse worker died; parsing this batch in-process")
            self.close()
            return await asyncio.to_thread(function, self.settings, items)
        return [message for chunk in chunks for message in chunk]

    async def parse_raws(
        self, items: Sequence[tuple[bytes, datetime | None]]
    ) -> list[InboundMessage]:
        """One message per ``(raw, fallback date)``, raw bytes attached, in order."""
        parsed = await self._chunks(_parse_raws, items)
        return [wire.decode(values, raw) for values, (raw, _) in zip(parsed, items, strict=True)]

    async def parse_files(self, files: Sequence[tuple[str, float]]) -> list[InboundMessage | None]:
        """One message per ``(path, modification time)`` (None for a file that vanished
        meanwhile), in order."""
        parsed = await self._chunks(_parse_files, files)
        return [None if values is None else wire.decode(values) for values in parsed]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
