"""Spam in the console: the key marks the conversation (or the marked ones) spam — out of
every queue view into the Spam view, listed in the sidebar once it holds something — and
again on spam means "not spam"; ``u`` undoes either, the sender's block too."""

from __future__ import annotations

from agentconsole.models import View
from agentconsole.query import parse

from .conftest import SIZE, make_app, notified, ready, settled, wait_for


def sidebar_text(app) -> str:
    """The sidebar's lines, each label and its count joined by one space."""
    lines = str(app.main_screen.sidebar.render()).splitlines()
    return "\n".join(" ".join(line.split()) for line in lines)


def status_line(app) -> str:
    return str(app.main_screen.query_one("#status-line").render())


async def spam_ids(app) -> set[int]:
    rows = await app.main_screen.services.store.find(parse("is:spam"))
    return {row.id for row in rows}


async def test_spam_key_moves_the_conversation_to_spam_and_u_brings_it_back(seeded) -> None:
    path, _ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        assert "Spam" not in sidebar_text(app)  # nothing is spam: no empty view to read past
        target = screen.queue.current_id
        open_before = screen.counts["open"]
        await pilot.press("B")
        await wait_for(pilot, lambda: screen.counts.get("spam") == 1)
        assert await spam_ids(app) == {target}
        assert target not in screen.queue.ids  # left the queue view
        assert screen.counts["open"] == open_before - 1
        assert notified(app, f"#{target} marked spam, sender blocked")
        await wait_for(pilot, lambda: "Spam 1" in sidebar_text(app))
        await wait_for(pilot, lambda: f"u undoes spam #{target}" in status_line(app))
        entries = await screen.services.store.audit_log(target)
        assert entries[0].action == "spam"

        await pilot.press("u")
        await wait_for(pilot, lambda: screen.counts.get("spam") == 0)
        assert await spam_ids(app) == set()
        await wait_for(pilot, lambda: target in screen.queue.ids)
        assert "Spam" not in sidebar_text(app)
        entries = await screen.services.store.audit_log(target)
        assert entries[0].action == "unspam"  # the sender unblocked as well


async def test_marked_conversations_go_to_spam_and_not_spam_restores_them(seeded) -> None:
    path, _ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        marked = list(screen.queue.ids[:2])
        await pilot.press("space", "space", "B")
        await wait_for(pilot, lambda: screen.counts.get("spam") == 2)
        assert await spam_ids(app) == set(marked)
        assert notified(app, "2 conversations marked spam, sender blocked")
        assert screen.queue.marked == []

        # The Spam view lists them; there the same key says "not spam".
        await wait_for(pilot, lambda: "Spam 2" in sidebar_text(app))
        while screen.view != View("spam"):
            await pilot.press("J")
        await wait_for(pilot, lambda: sorted(screen.queue.ids) == sorted(marked))
        await pilot.press("asterisk", "B")
        await wait_for(pilot, lambda: screen.counts.get("spam") == 0)
        assert await spam_ids(app) == set()
        assert notified(app, "2 conversations not spam, back in the queue")
        await settled(pilot)
        assert screen.queue.ids == []  # the Spam view is empty now
        # Still listed while shown, gone from the sidebar once the agent moves on.
        await pilot.press("J")
        await wait_for(pilot, lambda: screen.view != View("spam"))
        await wait_for(pilot, lambda: "Spam" not in sidebar_text(app))


async def test_spam_key_is_in_help_and_the_palette(seeded) -> None:
    path, _ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        described = {text for _title, rows in app.help_sections() for _keys, text in rows}
        assert "Spam, blocking the sender (again on spam: not spam)" in described
        labels = [entry.label for entry in app.main_screen.palette_commands()]
        assert "Go to view: Spam" in labels  # even while it is empty
