"""The store's own CPU time during an ingest benchmark: on a shared machine wall time
measures the neighbours, the writer thread's CPU time what a message costs."""

from __future__ import annotations

import time
from typing import Any

#: CPU seconds the store's writer thread spent in ingest batches so far (commit included).
STORE_CPU = [0.0]


def time_store_writes() -> None:
    """From now on, add each ingest batch's CPU time (of the thread running it) to
    :data:`STORE_CPU`."""
    from agentconsole.store import ingest_sql

    original = ingest_sql.ingest_batch

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            STORE_CPU[0] += time.thread_time() - started

    ingest_sql.ingest_batch = timed  # type: ignore[assignment]
