"""Saved views: personal ones in the agent's config, shared ones in the store, each listed
with its query and the same count the sidebar shows."""

from __future__ import annotations

import json
from pathlib import Path

from agentconsole.store import Store
from tests.unit.test_cli import run
from tests.unit.test_views import seed


def listed(store_location: str | Path, config: Path) -> dict[str, dict[str, object]]:
    result = run(store_location, "views", "--json", config=config)
    assert result.returncode == 0, result.stderr
    return {entry["key"]: entry for entry in map(json.loads, result.stdout.splitlines())}


async def test_views_are_listed_with_the_sidebars_counts(
    store: Store, store_location: str | Path, tmp_path: Path
) -> None:
    await seed(store)
    counts = await store.view_counts()
    await store.close()
    config = tmp_path / "config.toml"
    config.write_text('[agent]\nname = "alice"\n', encoding="utf-8")
    every = listed(store_location, config)
    assert {key: entry["count"] for key, entry in every.items()} == counts
    assert every["mine"]["query"] == "assignee:me (status:open OR status:pending)"
    assert every["channel:mail"]["query"] == "channel:mail (status:open OR status:pending)"


async def test_a_personal_view_goes_into_the_config_and_a_shared_one_into_the_store(
    store: Store, store_location: str | Path, tmp_path: Path
) -> None:
    await seed(store)
    await store.close()
    config = tmp_path / "config.toml"
    config.write_text('[agent]\nname = "alice"\n', encoding="utf-8")
    mine = run(
        store_location,
        "views",
        "add",
        "billing mine",
        "tag:billing is:mine",
        "--key",
        "b",
        config=config,
    )
    assert mine.returncode == 0, mine.stderr
    assert '[views."billing mine"]' in config.read_text(encoding="utf-8")
    team = run(
        store_location,
        "views",
        "add",
        "waiting",
        "is:waiting -status:closed",
        "--shared",
        "--order",
        "waiting",
        config=config,
    )
    assert team.returncode == 0, team.stderr
    every = listed(store_location, config)
    assert every["view:billing mine"]["source"] == "personal"
    assert every["view:billing mine"]["shortcut"] == "b"
    assert every["view:waiting"]["source"] == "shared"
    listed_rows = run(store_location, "list", "is:waiting -status:closed", "--json", config=config)
    assert every["view:waiting"]["count"] == len(listed_rows.stdout.splitlines()) > 0
    bad = run(store_location, "views", "add", "oops", "tga:x", config=config)
    assert bad.returncode == 2 and "did you mean 'tag'?" in bad.stderr
    assert "oops" not in config.read_text(encoding="utf-8")
    again = run(store_location, "views", "add", "waiting", "status:open", "--shared", config=config)
    assert again.returncode == 4  # the team's view is not overwritten by accident
    assert run(store_location, "views", "remove", "billing mine", config=config).returncode == 0
    assert (
        run(store_location, "views", "remove", "waiting", "--shared", config=config).returncode == 0
    )
    every = listed(store_location, config)
    assert "view:billing mine" not in every and "view:waiting" not in every
    assert config.read_text(encoding="utf-8").strip() == '[agent]\nname = "alice"'


def test_a_bad_view_in_the_config_names_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[views.late]\nquery = "waiting:>4h"\norder = "oldest"\n', encoding="utf-8")
    result = run(tmp_path / "s.db", "views", config=config)
    assert result.returncode == 2
    assert "config.toml: views.late.order must be one of urgent, recent, waiting, snooze" in (
        result.stderr
    )
