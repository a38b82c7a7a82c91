"""Search a person can use (jump by id or address, escape back to where the cursor was,
the query error in the search bar) and the sidebar's saved views."""

from __future__ import annotations

from agentconsole import config as config_module
from agentconsole.models import View
from agentconsole.tui.app import AgentConsoleApp
from agentconsole.tui.screens.prompts import ChoiceScreen, PromptScreen

from .conftest import SIZE, make_app, ready, screen_text, settled, wait_for
from .seed import clock, open_store


async def test_a_conversation_id_typed_in_the_search_opens_it(seeded) -> None:
    path, ids = seeded
    store = await open_store(path)
    await store.set_status(ids["login"], "closed")  # found even when closed
    await store.close()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("slash", *f"#{ids['login']}", "enter")
        # Opened means shown and focused, for reading: the focus moves once it is shown.
        await wait_for(
            pilot,
            lambda: screen.pane.conversation_id == ids["login"] and screen.pane.thread.has_focus,
        )
        assert list(screen.queue.ids) == [ids["login"]]
        await pilot.press("escape", "escape")
        await pilot.press("slash", *str(ids["refund"]), "enter")
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["refund"])


async def test_a_contact_address_typed_in_the_search_opens_their_conversation(seeded) -> None:
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("slash", *"dan@example.com", "enter")
        await wait_for(pilot, lambda: screen.pane.conversation_id == ids["login"])
        assert list(screen.queue.ids) == [ids["login"]]


async def test_escape_from_a_search_puts_the_cursor_back(seeded) -> None:
    path, _ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("j", "j")
        was = screen.queue.current_id
        await pilot.press("slash", *"refund")
        await wait_for(pilot, lambda: screen.view == View("search", "refund"))
        await settled(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.view == View("open"))
        await settled(pilot)
        assert screen.queue.current_id == was
        assert screen.queue.cursor == 2


async def test_a_query_error_shows_in_the_search_bar_with_its_caret(seeded) -> None:
    path, _ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("slash", *"tga:billing")
        error = screen.query_one("#search-error")
        await wait_for(pilot, lambda: error.has_class("-shown"))
        shown = screen_text(app)
        assert "did you mean 'tag'" in shown
        assert "tga:billing" in shown and "^^^" in shown
        assert not app._notifications  # no pile of notifications while typing
        await pilot.press("home", "right", "delete", "right", "g")  # tga → tag
        assert screen.search.value == "tag:billing"
        await wait_for(pilot, lambda: not error.has_class("-shown"))


def app_with_config(path, config_file, text: str) -> AgentConsoleApp:
    config_file.write_text(text, encoding="utf-8")
    return AgentConsoleApp(path, config_module.load(str(config_file)), None, clock=clock)


async def test_the_sidebar_shows_personal_and_shared_views_with_counts(seeded, tmp_path) -> None:
    path, ids = seeded
    store = await open_store(path)
    await store.save_view("urgent-ones", "priority:urgent", shortcut="X")
    await store.close()
    config = '[agent]\nname = "alice"\n\n[views.billing]\nquery = "tag:billing"\nkey = "b"\n'
    app = app_with_config(path, tmp_path / "config.toml", config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.counts.get("view:urgent-ones") == 1)
        assert screen.counts["view:billing"] == 1
        shown = screen_text(app)
        assert "MY VIEWS" in shown and "TEAM VIEWS" in shown
        assert "billing (b)" in shown
        await pilot.press("b")  # the view's own key
        await wait_for(pilot, lambda: list(screen.queue.ids) == [ids["refund"]])
        await pilot.press("X")
        await wait_for(pilot, lambda: list(screen.queue.ids) == [ids["login"]])


async def test_saving_a_search_as_a_personal_view_writes_the_config(seeded, tmp_path) -> None:
    path, ids = seeded
    file = tmp_path / "config.toml"
    app = app_with_config(path, file, '[agent]\nname = "alice"\n')
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("slash", *"from:dan", "enter")
        await wait_for(pilot, lambda: list(screen.queue.ids) == [ids["login"]])
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"dans", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("enter")  # personal, the first choice
        await wait_for(pilot, lambda: screen.view.key == "view:dans")
        assert config_module.load(str(file)).views["dans"].query == "from:dan"
        await wait_for(pilot, lambda: screen.counts.get("view:dans") == 1)
        assert "MY VIEWS" in screen_text(app)


async def test_saving_a_search_as_a_shared_view_puts_it_in_the_store(seeded, tmp_path) -> None:
    path, _ids = seeded
    app = app_with_config(path, tmp_path / "config.toml", '[agent]\nname = "alice"\n')
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("slash", *"tag:billing", "enter")
        await settled(pilot)
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"team-billing", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: screen.counts.get("view:team-billing") == 1)
        shared = await screen.services.store.shared_views()
        assert [(v.label, v.query) for v in shared] == [("team-billing", "tag:billing")]


async def test_a_hit_shows_its_snippet_with_the_match_highlighted_and_markup_literal(
    store_path,
) -> None:
    from .seed import message

    store = await open_store(store_path)
    body = "Please [bold]escalate[/bold] the Café [@click=app.quit]refund[/] today"
    await store.ingest("support", [message("m-1", body, subject="Money back")])
    await store.close()
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        await pilot.press("slash", *"cafe refu")  # accents and case ignored, a prefix
        await wait_for(pilot, lambda: screen.view == View("search", "cafe refu"))
        conversation_id = screen.queue.ids[0]
        await wait_for(pilot, lambda: screen.queue.snippet(conversation_id) is not None)
        snippet = screen.queue.snippet(conversation_id)
        assert "[/bold] the Café" in snippet.plain  # markup from data stays text
        assert "[@click=app.quit]refund[/]" in snippet.plain
        matched = {
            snippet.plain[s.start : s.end] for s in snippet.spans if "reverse" in str(s.style)
        }
        assert matched == {"Café", "refu"}
        await wait_for(pilot, lambda: "[@click=app.quit]refund" in screen_text(app))
        assert app.is_running  # the [@click=app.quit] did nothing


async def test_typing_a_search_does_not_count_the_sidebar_again(seeded) -> None:
    """Counting every view can take seconds on a big store with saved word views: a search
    changes no count, so only a change in the store makes the console count again."""
    path, ids = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await settled(pilot)
        screen = app.main_screen
        counted = []
        count = app.store.count

        async def counting(queries):  # the real count, recorded
            counted.append(len(queries))
            return await count(queries)

        app.store.count = counting  # type: ignore[method-assign]
        closed = screen.counts.get("closed", 0)
        await pilot.press("slash", *"refund")
        await wait_for(pilot, lambda: screen.view == View("search", "refund"))
        await settled(pilot)
        await pilot.press(*" order")
        await wait_for(pilot, lambda: screen.view == View("search", "refund order"))
        await settled(pilot)
        assert ids["refund"] in screen.queue.ids
        assert counted == []
        other = await open_store(path, agent="bob")
        await other.set_status(ids["refund"], "closed")
        await other.close()
        await wait_for(pilot, lambda: screen.counts.get("closed", 0) == closed + 1)
        assert counted
