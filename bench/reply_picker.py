#!/usr/bin/env python3
"""Saved-reply picker benchmark: from "the agent presses the key" to "the preview is shown",
with 1,000 saved replies (target: 50 ms).

    python bench/reply_picker.py                 # 1,000 replies, headless work and Pilot
    python bench/reply_picker.py --replies 5000  # more
    python bench/reply_picker.py --no-pilot      # only the picker's own work

Writes the reply files into a temporary folder, then times, median of runs:
- the work the picker does when it opens: reading and parsing every file (the first time;
  after that only changed files are), the replies offered on the conversation's channel,
  their order, and the first one filled in for the preview;
- ranking and filling again as the agent types (one keystroke of a filter);
- through Pilot, on a real app and store: ctrl+r pressed in the composer until a frame with
  the picker's filled-in preview is painted (wall time, and the CPU time of the console's
  event-loop thread: what the console itself does, whatever else loads the machine), and
  one typed letter until the preview follows — with, for scale, what Pilot takes to type
  one letter into the composer (its own floor) and to open the tag prompt, another modal
  screen.
This is a benchmark, not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from agentconsole import config as config_module
from agentconsole.plugin import Author, Identity, InboundMessage
from agentconsole.replies import Agent, fill, load_library, rank
from agentconsole.replies import library as library_module
from agentconsole.store import connect

TARGET_MS = 50.0
WORD_TEXT = (
    "refund invoice payment card declined outage login password reset shipping delay order "
    "cancel subscription upgrade plan export data account locked billing address receipt "
    "warranty replacement damaged missing tracking number coupon discount trial renewal"
)
WORDS = WORD_TEXT.split()
CHANNELS = (["email"], ["chat"], ["email", "chat"], [], [], [])


def write_replies(folder: Path, count: int, seed: int = 7) -> None:
    """``count`` reply files of one to four paragraphs with placeholders, some limited to a
    channel, some with macro actions."""
    chance = random.Random(seed)
    for index in range(count):
        title = " ".join(chance.sample(WORDS, 3)).capitalize() + f" {index}"
        keywords = ", ".join(f'"{w}"' for w in chance.sample(WORDS, 3))
        channels = ", ".join(f'"{c}"' for c in chance.choice(CHANNELS))
        paragraphs = [
            " ".join(chance.choices(WORDS, k=chance.randint(20, 60))).capitalize() + "."
            for _ in range(chance.randint(1, 4))
        ]
        body = (
            "Hi {customer.first_name},\n\n"
            + "\n\n".join(paragraphs)
            + "\n\nYour conversation #{conversation.id} started {conversation.created_at:%H:%M}.\n"
            "-- \n{agent.display_name}\n"
        )
        front = f'title = "{title}"\nkeywords = [{keywords}]\nchannels = [{channels}]\n'
        if index % 5 == 0:
            front += 'tags = ["+macro"]\nstatus = "pending"\n'
        (folder / f"reply-{index:05}.md").write_text(f"+++\n{front}+++\n{body}", encoding="utf-8")


def median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def make_store(path: Path) -> int:
    store = await connect(path, agent="bench")
    try:
        await store.ensure_channel("support", "email", "email")
        report = await store.ingest(
            "support",
            [
                InboundMessage(
                    external_id="<bench-1@example.com>",
                    author=Author("Ada Lovelace", (Identity("email", "ada@example.com"),)),
                    body="My card was declined twice.",
                    sent_at=datetime(2026, 12, 1, 9, 41, tzinfo=UTC),
                    subject="Card declined",
                )
            ],
        )
        return report.created[0]
    finally:
        await store.close()


def headless(
    folder: Path, store_path: Path, conversation_id: int, runs: int
) -> list[tuple[str, float]]:
    async def detail_of() -> object:
        store = await connect(store_path, agent="bench")
        try:
            return await store.conversation(conversation_id)
        finally:
            await store.close()

    detail = asyncio.run(detail_of())
    agent = Agent("bench", "Bench from Acme")
    row = detail.row  # type: ignore[attr-defined]
    library = load_library([folder])
    offered = library.offered_on(row.channel, row.channel_kind)

    def open_picker() -> None:
        loaded = load_library([folder])
        shown = rank(loaded.offered_on(row.channel, row.channel_kind), "")
        fill(shown[0], detail, agent)  # type: ignore[arg-type]

    def keystroke() -> None:
        shown = rank(offered, "refnd")
        if shown:
            fill(shown[0], detail, agent)  # type: ignore[arg-type]

    def cold() -> None:
        library_module._parsed.clear()  # as on the first open after start
        open_picker()

    return [
        ("first open: read + parse every file, rank, fill", median_ms(cold, runs)),
        (
            "open again: files unchanged (stat only)",
            median_ms(lambda: load_library([folder]), runs),
        ),
        ("rank the offered (empty filter)", median_ms(lambda: rank(offered, ""), runs)),
        (
            "fill the first for the preview",
            median_ms(lambda: fill(offered[0], detail, agent), runs),
        ),  # type: ignore[arg-type]
        ("open again: all of the above", median_ms(open_picker, runs)),
        ("one keystroke: rank 'refnd' + fill", median_ms(keystroke, runs)),
    ]


async def through_pilot(
    folder: Path, store_path: Path, conversation_id: int, runs: int
) -> list[tuple[str, float]]:
    from agentconsole.tui.app import AgentConsoleApp
    from agentconsole.tui.screens.prompts import PromptScreen
    from agentconsole.tui.widgets.composer import LIBRARY_GROUP
    from agentconsole.tui.widgets.reply_picker import ReplyPicker

    config = config_module.parse(
        {
            "agent": {"name": "bench", "display_name": "Bench from Acme"},
            "replies": {"dirs": [str(folder)]},
        },
        "bench.toml",
    )
    app = AgentConsoleApp(store_path, config, None, poll_interval=5.0)
    opened: list[float] = []
    opened_cpu: list[float] = []
    typed: list[float] = []
    #: (wall, CPU) time of the first frame painted with the preview, once ``watching``.
    painted: list[tuple[float, float]] = []
    watching = [False]

    def frame_painted() -> None:
        if watching[0] and preview_text().startswith("Hi Ada,"):
            painted.append((time.perf_counter(), time.thread_time()))
            watching[0] = False

    app.post_display_hook = frame_painted  # type: ignore[method-assign]

    async def until(pilot: object, predicate: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 10
        while not predicate():
            if time.monotonic() > deadline:
                raise RuntimeError("the picker did not show its preview within 10 s")
            await pilot.pause(0)  # type: ignore[attr-defined]

    def preview_text() -> str:
        picker = app.main_screen.query_one(ReplyPicker)  # type: ignore[union-attr]
        if not picker.is_open:
            return ""
        return str(picker.query_one("#picker-preview").render())

    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot, lambda: app.main_screen is not None and app.main_screen.pane.detail is not None
        )  # type: ignore[attr-defined]
        prompts: list[float] = []
        for _ in range(runs):
            start = time.perf_counter()
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, PromptScreen))
            prompts.append((time.perf_counter() - start) * 1000)
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, PromptScreen))
        await pilot.press("r")
        await until(pilot, lambda: app.main_screen.composer.is_open)  # type: ignore[attr-defined]
        composer = app.main_screen.composer  # type: ignore[attr-defined]
        floor: list[float] = []
        for _ in range(runs):
            length = len(composer.body)
            start = time.perf_counter()
            await pilot.press("a")
            await until(pilot, lambda length=length: len(composer.body) > length)
            floor.append((time.perf_counter() - start) * 1000)
        for _ in range(runs):
            start, cpu_start = time.perf_counter(), time.thread_time()
            painted.clear()
            watching[0] = True
            await pilot.press("ctrl+r")
            await until(pilot, lambda: bool(painted))
            opened.append((painted[0][0] - start) * 1000)
            opened_cpu.append((painted[0][1] - cpu_start) * 1000)
            await pilot.pause(0.3)  # what follows the first paint (the footer's keys) ends
            picker = app.main_screen.query_one(ReplyPicker)  # type: ignore[union-attr]
            shown = picker.matches
            start = time.perf_counter()
            await pilot.press("r")  # the filter's first letter: ranked, the preview filled again
            await until(pilot, lambda shown=shown, picker=picker: picker.matches is not shown)
            typed.append((time.perf_counter() - start) * 1000)
            await pilot.press("escape")
            await until(pilot, lambda: not app.main_screen.query_one(ReplyPicker).is_open)
            # The files are read again once the picker closes (a thread): an agent opens it
            # again seconds later, not while that runs.
            await until(pilot, lambda: not any(w.group == LIBRARY_GROUP for w in app.workers))
    return [
        ("Pilot floor: a letter typed in the composer", statistics.median(floor)),
        ("Pilot, for scale: the tag prompt opens (a modal)", statistics.median(prompts)),
        ("Pilot: ctrl+r until a frame shows the preview", statistics.median(opened)),
        ("  of which CPU time of the console's event loop", statistics.median(opened_cpu)),
        ("Pilot: a typed letter until list and preview follow", statistics.median(typed)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-pilot", action="store_true", help="only the picker's own work")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentconsole-bench-replies-") as temp:
        root = Path(temp)
        os.environ["XDG_CONFIG_HOME"] = str(root / "xdg")  # no personal replies mixed in
        folder = root / "replies"
        folder.mkdir()
        write_replies(folder, args.replies)
        store_path = root / "store.db"
        conversation_id = asyncio.run(make_store(store_path))
        rows = headless(folder, store_path, conversation_id, args.runs)
        if not args.no_pilot:
            rows += asyncio.run(
                through_pilot(folder, store_path, conversation_id, max(5, args.runs // 2))
            )
    print(
        f"saved-reply picker, {args.replies} replies (median ms; target {TARGET_MS:.0f} ms open → preview)"
    )
    print(f"{'step':<50} {'ms':>8}")
    for name, value in rows:
        print(f"{name:<50} {value:>8.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
