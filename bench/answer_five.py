#!/usr/bin/env python3
"""Answering benchmark: keys and time from "queue shown" to "five identical tickets answered
and closed", through Pilot on a real app and store, flow by flow.

    python bench/answer_five.py            # every flow, 5 tickets
    python bench/answer_five.py --runs 3   # the median of three runs per flow

Five customers write about the same outage; a saved reply ``outage`` answers them. The
flows, each on a fresh copy of the store:
- ``typed, send, close``: what an agent did before saved replies — r, type the answer,
  ctrl+s, c — five times;
- ``saved reply, send, close``: the flow before this change — r, ctrl+r, type ``outage``,
  enter, ctrl+s, c — five times (the console stayed on the conversation after sending);
- ``saved reply, send+close``: r, ctrl+r, ``outage``, enter, ctrl+g (send, close, and the
  next conversation opens) — five times;
- ``marked, saved reply to each``: * (mark the view's five), r, ``outage``, enter, c
  (close after sending) — once.
"Answered" is the reply stored and queued (it waits out its undo window in the outbox) and
the conversation closed. Keys are the key presses of the flow; the time includes what Pilot
takes to deliver them (its own floor, the same for every flow). A benchmark, not a test:
it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentconsole import config as config_module
from agentconsole.plugin import Author, Identity, InboundMessage
from agentconsole.store import connect

TICKETS = 5
TYPED = "We know card payments fail since this morning and are on it. Sorry!"
OUTAGE = """+++
title = "Outage: we are on it"
keywords = ["outage", "down", "payments"]
+++
Hi {customer.first_name},

we know card payments are failing since {conversation.created_at:%H:%M} and are on it.
We will write again as soon as they work.
"""


async def seed(path: Path) -> list[int]:
    store = await connect(path, agent="alice")
    try:
        await store.ensure_channel("support", "email", "email")
        start = datetime.now(UTC) - timedelta(hours=2)
        messages = [
            InboundMessage(
                external_id=f"<outage-{n}@example.com>",
                author=Author(f"Customer {n}", (Identity("email", f"c{n}@example.com"),)),
                body="Card payments fail on your site since this morning.",
                sent_at=start + timedelta(minutes=n),
                subject=f"Payments down ({n})",
            )
            for n in range(TICKETS)
        ]
        return list((await store.ingest("support", messages)).created)
    finally:
        await store.close()


Flow = Callable[[object], Awaitable[int]]


async def ready_for_next(pilot, left: int) -> None:  # type: ignore[no-untyped-def]
    """The view holds the ``left`` tickets still open and the first one is in the pane."""
    screen = pilot.app.main_screen
    await wait(
        pilot,
        lambda: (
            len(screen.queue.ids) == left
            and screen.queue.current_id is not None
            and screen.pane.conversation_id == screen.queue.current_id
            and not screen.composer.is_open
        ),
    )


async def wait(pilot, predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {predicate}")
        await pilot.pause(0.01)


async def typed_then_close(pilot) -> int:  # type: ignore[no-untyped-def]
    screen = pilot.app.main_screen
    keys = 0
    for left in range(TICKETS, 0, -1):
        await ready_for_next(pilot, left)
        await pilot.press("r")
        await wait(pilot, lambda: screen.composer.is_open)
        await pilot.press(*TYPED, "ctrl+s")
        await wait(pilot, lambda: not screen.composer.is_open)
        await pilot.press("c")
        keys += 1 + len(TYPED) + 1 + 1
    return keys


async def saved_then_close(pilot) -> int:  # type: ignore[no-untyped-def]
    from agentconsole.tui.widgets.reply_picker import ReplyPicker

    screen = pilot.app.main_screen
    keys = 0
    for left in range(TICKETS, 0, -1):
        await ready_for_next(pilot, left)
        await pilot.press("r")
        await wait(pilot, lambda: screen.composer.is_open)
        await pilot.press("ctrl+r")
        await wait(pilot, lambda: pilot.app.main_screen.query_one(ReplyPicker).is_open)
        await pilot.press(*"outage", "enter")
        await wait(pilot, lambda: pilot.app.screen is screen and "on it" in screen.composer.body)
        await pilot.press("ctrl+s")
        await wait(pilot, lambda: not screen.composer.is_open)
        await pilot.press("c")
        keys += 1 + 1 + 6 + 1 + 1 + 1
    return keys


async def saved_send_close(pilot) -> int:  # type: ignore[no-untyped-def]
    from agentconsole.tui.widgets.reply_picker import ReplyPicker

    screen = pilot.app.main_screen
    keys = 0
    for left in range(TICKETS, 0, -1):
        await ready_for_next(pilot, left)
        await pilot.press("r")
        await wait(pilot, lambda: screen.composer.is_open)
        await pilot.press("ctrl+r")
        await wait(pilot, lambda: pilot.app.main_screen.query_one(ReplyPicker).is_open)
        await pilot.press(*"outage", "enter")
        await wait(pilot, lambda: pilot.app.screen is screen and "on it" in screen.composer.body)
        await pilot.press("ctrl+g")
        await wait(pilot, lambda: not screen.composer.is_open)
        keys += 1 + 1 + 6 + 1 + 1
    return keys


async def marked_bulk(pilot) -> int:  # type: ignore[no-untyped-def]
    from agentconsole.tui.screens.prompts import ChoiceScreen
    from agentconsole.tui.widgets.reply_picker import ReplyPicker

    app = pilot.app
    screen = app.main_screen
    await pilot.press("asterisk", "r")
    await wait(pilot, lambda: app.main_screen.query_one(ReplyPicker).is_open)
    await pilot.press(*"outage", "enter")
    await wait(pilot, lambda: isinstance(app.screen, ChoiceScreen))
    await pilot.press("c")
    await wait(pilot, lambda: not screen.queue.marked)
    return 1 + 1 + 6 + 1 + 1


FLOWS: tuple[tuple[str, Flow, dict[str, object]], ...] = (
    ("typed, send, close", typed_then_close, {"after_send": "stay"}),
    ("saved reply, send, close", saved_then_close, {"after_send": "stay"}),
    ("saved reply, send+close", saved_send_close, {}),
    ("marked, saved reply to each", marked_bulk, {}),
)


async def run_flow(folder: Path, flow: Flow, compose: dict[str, object]) -> tuple[int, float]:
    from agentconsole.tui.app import AgentConsoleApp

    path = folder / f"store-{time.monotonic_ns()}.db"
    ids = await seed(path)
    config = config_module.parse(
        {"agent": {"name": "alice"}, "compose": compose}, str(folder / "config.toml")
    )
    app = AgentConsoleApp(path, config, None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = None
        await wait(pilot, lambda: app.main_screen is not None)
        screen = app.main_screen
        await wait(pilot, lambda: len(screen.queue.ids) == TICKETS and screen.refreshes >= 1)
        started = time.perf_counter()
        keys = await flow(pilot)

        def done() -> bool:
            return all(i in answered for i in ids)

        answered: set[int] = set()
        deadline = time.monotonic() + 30
        while not done():
            answered = set(
                await app.store.run_sync(
                    lambda conn: [
                        r[0]
                        for r in conn.execute(
                            "SELECT c.id FROM conversations c WHERE c.status = 'closed'"
                            " AND EXISTS (SELECT 1 FROM outbox o JOIN messages m"
                            " ON m.id = o.message_id WHERE m.conversation_id = c.id)"
                        )
                    ]
                )
            )
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(answered)} of {TICKETS} answered and closed")
            await pilot.pause(0.01)
        elapsed = time.perf_counter() - started
    return keys, elapsed


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        replies = folder / "xdg" / "agentconsole" / "replies"
        replies.mkdir(parents=True)
        (replies / "outage.md").write_text(OUTAGE, encoding="utf-8")
        os.environ["XDG_CONFIG_HOME"] = str(folder / "xdg")
        print(f"{TICKETS} identical tickets, answered and closed, from queue shown (Pilot, 120x40)")
        print(f"{'flow':<30} {'keys':>5} {'seconds':>8}")
        for label, flow, compose in FLOWS:
            results = [await run_flow(folder, flow, compose) for _ in range(runs)]
            keys = results[0][0]
            seconds = statistics.median(r[1] for r in results)
            print(f"{label:<30} {keys:>5} {seconds:>8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.runs)))
