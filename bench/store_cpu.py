"""The store's own CPU time during an ingest benchmark: on a shared machine wall time
measures the neighbours, the writer thread's CPU time what a message costs."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

#: CPU seconds the store's writer thread spent in ingest batches so far (commit included).
STORE_CPU = [0.0]


def time_thread_cpu(module: ModuleType, name: str, total: list[float]) -> None:
    """From now on, add the CPU time (of the thread running it) of every call of
    ``module.name`` to ``total[0]``."""
    original = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            total[0] += time.thread_time() - started

    setattr(module, name, timed)


def time_store_writes() -> None:
    """From now on, add each ingest batch's CPU time (of the thread running it) to
    :data:`STORE_CPU`."""
    from agentconsole.store import ingest_sql

    time_thread_cpu(ingest_sql, "ingest_batch", STORE_CPU)
