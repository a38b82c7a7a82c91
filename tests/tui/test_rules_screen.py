"""The rules screen: every configured rule (disabled and broken ones too), the replay of
one — what ``rules test RULE`` prints, read without writing — and a sample conversation
opened from it."""

from __future__ import annotations

import asyncio

from agentconsole.rules.loading import load_rules
from agentconsole.rules_cli import replay_lines
from agentconsole.tui.screens.rules import RulesScreen

from .conftest import SIZE, make_app, ready, screen_text, settled, wait_for
from .seed import NOW_TS

RULES = {
    "rules": [
        {
            "name": "refunds to billing",
            "on": "inbound",
            "if": "refund",
            "then": {"tags": ["+refund"], "priority": "low"},
            "enabled": False,
        },
        {"name": "broken one", "if": "tag:(", "then": {"tags": ["+x"]}},
        {
            "name": "chats urgent",
            "on": "inbound",
            "if": "channel:livechat",
            "then": {"priority": "urgent"},
        },
    ]
}


def result_text(screen: RulesScreen) -> str:
    return str(screen.query_one("#rules-result").render())


async def test_the_rules_screen_replays_a_disabled_rule_and_opens_a_sample(seeded) -> None:
    path, ids = seeded
    app = make_app(path, config=RULES, clock=lambda: NOW_TS)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        main = app.main_screen
        before = await main.services.store.conversation_rows(list(main.queue.ids))
        await pilot.press("W")
        await wait_for(pilot, lambda: isinstance(app.screen, RulesScreen))
        screen = app.screen
        shown = screen_text(app)
        assert "refunds to billing" in shown and "(disabled)" in shown
        assert "broken one" in shown and "BROKEN" in shown
        assert "chats urgent" in shown
        await pilot.press("enter")  # the first: the disabled rule
        await wait_for(pilot, lambda: screen.replayed is not None)
        await wait_for(pilot, lambda: "would have matched 1 conversation" in result_text(screen))
        # The same lines as `agentconsole rules test RULE --since 30d`.
        rule = load_rules(app.config).named("refunds to billing")
        lines = replay_lines(rule, screen.replayed, "30d")
        assert "  +refund" in lines[1] and len(lines) == 4  # matched, two changes, e.g.
        shown = " ".join(result_text(screen).split())
        for line in lines:
            assert " ".join(line.split()) in shown
        assert screen.sample_ids == [ids["refund"]]
        assert "Refund for order 1042" in screen_text(app)
        # Nothing was changed: not the tags, not the priority.
        after = await main.services.store.conversation_rows(list(main.queue.ids))
        assert after == before

        await pilot.press("tab", "enter")  # the sample list, its first
        await wait_for(pilot, lambda: not isinstance(app.screen, RulesScreen))
        await wait_for(pilot, lambda: main.pane.conversation_id == ids["refund"])


async def test_a_broken_rule_shows_its_error_and_a_new_period_replays_again(seeded) -> None:
    path, _ids = seeded
    app = make_app(path, config=RULES, clock=lambda: NOW_TS)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("W")
        await wait_for(pilot, lambda: isinstance(app.screen, RulesScreen))
        screen = app.screen
        await pilot.press("down", "down", "enter")  # the broken one: listed last
        await wait_for(pilot, lambda: "is broken and never runs" in result_text(screen))
        assert "tag: needs a value" in result_text(screen)
        assert screen.replayed is None

        await pilot.press("up", "enter")  # chats urgent: the chat came an hour ago
        await wait_for(
            pilot, lambda: "would have matched 1 conversation in 30d" in result_text(screen)
        )
        since = screen.query_one("#rules-since")
        since.focus()
        since.value = "10m"
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: "would have matched 0 conversations in 10m" in result_text(screen)
        )
        since.value = "soon"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Replay over the last" in result_text(screen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RulesScreen))
        await settled(pilot)


async def test_without_rules_the_screen_says_how_to_add_one(seeded) -> None:
    path, _ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        labels = {entry.label: entry for entry in app.main_screen.palette_commands()}
        await labels["Rules: replay one on the history"].run()  # as the command palette does
        await wait_for(pilot, lambda: isinstance(app.screen, RulesScreen))
        await wait_for(pilot, lambda: "No rules configured" in screen_text(app))


async def test_a_slow_replay_counts_its_seconds_and_the_console_stays_usable(seeded) -> None:
    """A big store takes seconds: the screen says it is replaying and counts up while the
    store works (here a replay held until released), and escape still closes it."""
    path, _ids = seeded
    app = make_app(path, config=RULES, clock=lambda: NOW_TS)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        store = app.main_screen.services.store
        release = asyncio.Event()

        async def slow_replay(rule, since, now):
            await release.wait()
            return await store.replay_rule(rule, since, now)

        rules = load_rules(app.config)
        screen = RulesScreen(rules, slow_replay, store.conversation_rows, lambda: NOW_TS)
        await app.push_screen(screen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Replaying 'refunds to billing'" in result_text(screen))
        first = result_text(screen)
        await wait_for(pilot, lambda: result_text(screen) != first)  # the seconds count up
        assert "Replaying" in result_text(screen) and screen.replayed is None
        release.set()
        await wait_for(pilot, lambda: "would have matched 1 conversation" in result_text(screen))

        # Escape while a replay runs closes the screen at once.
        release.clear()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Replaying" in result_text(screen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RulesScreen))
        release.set()
