"""Work handed to a worker as :func:`deferred` starts only when the worker runs it: a worker
replaced by a newer one of its group before it ran leaves no coroutine behind (Python
warned "coroutine ... was never awaited" for each)."""

from __future__ import annotations

import gc

import pytest
from textual.app import App

from agentconsole.tui.deferred import deferred


async def test_the_work_is_called_only_when_awaited() -> None:
    calls: list[int] = []

    async def work(value: int, *, times: int) -> int:
        calls.append(value)
        return value * times

    pending = deferred(work, 3, times=2)
    assert calls == []
    assert await pending == 6
    assert calls == [3]


async def test_a_worker_replaced_before_it_ran_leaves_no_coroutine_behind(
    recwarn: pytest.WarningsRecorder,
) -> None:
    ran: list[str] = []

    async def work(name: str) -> None:
        ran.append(name)

    app: App[None] = App()
    async with app.run_test():
        app.run_worker(deferred(work, "first"), group="load", exclusive=True)
        second = app.run_worker(deferred(work, "second"), group="load", exclusive=True)
        await second.wait()
    gc.collect()
    assert ran == ["second"]
    assert not [w for w in recwarn if "never awaited" in str(w.message)]
