"""Pilot's wait after each key, made exact about widgets removed meanwhile.

After every ``pilot.press`` Textual's Pilot posts a callback to the app and to every node of
the screen and waits (30 s) until all of them ran it. A node removed in between — the
conversation pane rebuilds its thread, the footer recomposes when focus moves — may close
its queue with the callback unrun, and the wait then times out although nothing is stuck.
CI saw one such timeout in 1,280 tests; a removed widget is the likeliest reading of it, not
a proven one. This wait keeps the same promise for what is still there: every node still
attached and running has processed what was posted before the key. A node still on screen
that does not answer fails the test, named.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual.dom import DOMNode
from textual.pilot import Pilot, WaitForScreenTimeout

#: As long as Pilot's own wait.
TIMEOUT = 30.0


def _still_there(node: DOMNode) -> bool:
    return node.is_attached and not (node._closing or node._closed)


def _where(node: DOMNode) -> str:
    """The node, and where its message loop is waiting: the chain of awaits from its task
    down to what it is stuck on."""
    task = node._task
    steps = []
    awaited: Any = task.get_coro() if task is not None else None
    while awaited is not None and len(steps) < 30:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            steps.append(type(awaited).__name__)
            break
        name = frame.f_code.co_filename.rsplit("/", 1)[-1]
        steps.append(f"{name}:{frame.f_lineno} {frame.f_code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    where = " -> ".join(steps) or "no task"
    return f"  {node!r} ({node._message_queue.qsize()} queued): {where}"


async def wait_for_screen(self: Pilot[object], timeout: float = TIMEOUT) -> bool:
    """Every node of the screen (and the app) has run a callback posted now, or left."""
    app = self.app
    try:
        screen = app.screen
    except Exception:
        return False
    answered: dict[DOMNode, asyncio.Event] = {}
    for node in [app, *screen.walk_children(with_self=True)]:
        event = asyncio.Event()
        if node.call_later(event.set):
            answered[node] = event
    if not answered:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    failed = asyncio.create_task(app._exception_event.wait())
    try:
        while True:
            waiting = [e for n, e in answered.items() if not e.is_set() and _still_there(n)]
            if not waiting or failed.done():
                return True
            # Look again now and then: a node removed meanwhile never answers.
            step = min(0.5, deadline - loop.time())
            if step <= 0:
                stuck = [n for n, e in answered.items() if not e.is_set() and _still_there(n)]
                raise WaitForScreenTimeout(
                    "These widgets did not process their messages:\n"
                    + "\n".join(_where(node) for node in stuck[:10])
                )
            waits = [asyncio.ensure_future(e.wait()) for e in waiting]
            _, unanswered = await asyncio.wait(waits, timeout=step)
            for task in unanswered:
                task.cancel()
    finally:
        failed.cancel()


def install() -> None:
    """Every Pilot of the test session waits this way."""
    Pilot._wait_for_screen = wait_for_screen  # type: ignore[method-assign,assignment]
