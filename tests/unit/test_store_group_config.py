"""``[store] group`` makes the store a team store, as ``store share --group`` does, and says
so once."""

from __future__ import annotations

import grp
import os
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentconsole import config as config_module
from agentconsole.errors import ConfigError, StoreError
from agentconsole.opening import open_store

GROUP = grp.getgrgid(os.getgid()).gr_name  # a group this account is surely in


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def team_config(path: Path, group: str = GROUP) -> config_module.Config:
    return config_module.parse({"store": {"path": str(path), "group": group}}, "config.toml")


def said_so(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "is now a team store" in r.getMessage()]


async def test_a_new_store_is_created_shared_and_says_so_once(
    tmp_path: Path, usual_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "team" / "store.db"
    config = team_config(path)
    assert config.store == path and config.store_group == GROUP
    for _ in range(2):
        store = await open_store(config, path)
        await store.close()
    assert mode(path.parent) == 0o2770 and mode(path) == 0o660
    assert path.stat().st_gid == os.getgid()
    assert len(said_so(caplog)) == 1 and f"group {GROUP}" in said_so(caplog)[0]


async def test_an_existing_private_store_becomes_shared(
    tmp_path: Path, usual_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "store.db"
    private = config_module.parse({"store": str(path)}, "config.toml")
    await (await open_store(private, path)).close()
    assert mode(path) == 0o600
    await (await open_store(team_config(path), path)).close()
    assert mode(path.parent) == 0o2770 and mode(path) == 0o660
    assert len(said_so(caplog)) == 1


async def test_an_unknown_group_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with pytest.raises(StoreError, match=r"\[store\] group = 'no-such-group-x'.*groupadd"):
        await open_store(team_config(path, "no-such-group-x"), path)


def test_a_misspelt_store_key_says_what_it_may_be() -> None:
    with pytest.raises(ConfigError, match="grop.*group"):
        config_module.parse({"store": {"grop": "support"}}, "config.toml")


def test_the_example_config_still_parses() -> None:
    parsed = config_module.parse(tomllib.loads(config_module.example_text()), "example.toml")
    assert parsed.store_group is None
