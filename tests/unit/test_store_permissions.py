"""Store files are private by default; a team store is shared with one group on purpose."""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentconsole.plugin import Author, Identity, InboundMessage
from agentconsole.store import connect, permissions


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def write_one(path: Path) -> None:
    store = await connect(path, agent="alice")
    try:
        await store.ensure_channel("support", "email", "email")
        message = InboundMessage(
            external_id="<1@example.com>",
            author=Author("Ada", (Identity("email", "ada@example.com"),)),
            body="my card was charged twice",
            sent_at=datetime.fromtimestamp(1_800_000_000, UTC),
            subject="Refund",
        )
        await store.ingest("support", [message], "1")
        # The WAL and its index exist while the store is open.
        for file in permissions.files_of(path):
            assert file.exists(), file
            assert mode(file) == 0o600, f"{file.name} is {mode(file):04o}"
    finally:
        await store.close()


async def test_a_new_store_is_private_whatever_the_umask(tmp_path: Path, usual_umask: None) -> None:
    path = tmp_path / "data" / "agentconsole" / "store.db"
    await write_one(path)
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    assert permissions.exposures(path) == []


async def test_an_exposed_store_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    await write_one(path)
    os.chmod(path, 0o644)
    (found,) = permissions.exposures(path)
    assert found.path == path
    assert f"chmod 600 {path}" in str(found) and "--group" in str(found)


async def test_a_team_store_is_shared_with_its_group(tmp_path: Path, usual_umask: None) -> None:
    group = grp.getgrgid(os.getgid()).gr_name  # a group this account is surely in
    path = tmp_path / "team" / "store.db"
    await write_one(path)
    changed = permissions.share(path, group)
    assert path in changed
    assert mode(path.parent) == 0o2770
    assert all(mode(f) == 0o660 for f in permissions.files_of(path) if f.exists())
    assert all(f.stat().st_gid == os.getgid() for f in changed)
    assert permissions.exposures(path) == []


def test_a_new_team_store_starts_shared(tmp_path: Path, usual_umask: None) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    path = tmp_path / "team" / "store.db"
    permissions.prepare(path, group=group)
    assert mode(path.parent) == 0o2770 and mode(path) == 0o660


def test_an_unknown_group_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="groupadd no-such-group-x"):
        permissions.prepare(tmp_path / "t" / "store.db", group="no-such-group-x")


def test_the_cli_warns_about_a_store_others_can_read(tmp_path: Path) -> None:
    import asyncio
    import subprocess
    import sys

    path = tmp_path / "store.db"
    asyncio.run(write_one(path))
    os.chmod(path, 0o644)
    result = subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", "--store", str(path), "list"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "AGENTCONSOLE_CONFIG": os.devnull},
    )
    assert result.returncode == 0, result.stderr
    assert "can be read by every user" in result.stderr and "chmod 600" in result.stderr
    # As every log line: a read that sets its log up only to warn formats it the same.
    assert result.stderr.startswith("WARNING agentconsole.opening: "), result.stderr
    assert "Refund" in result.stdout


def test_store_share_makes_a_team_store(tmp_path: Path, usual_umask: None) -> None:
    import asyncio
    import subprocess
    import sys

    path = tmp_path / "team" / "store.db"
    asyncio.run(write_one(path))
    group = grp.getgrgid(os.getgid()).gr_name
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentconsole.cli",
            "--store",
            str(path),
            "store",
            "share",
            "--group",
            group,
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "AGENTCONSOLE_CONFIG": os.devnull},
    )
    assert result.returncode == 0, result.stderr
    assert "now a team store" in result.stdout
    assert mode(path.parent) == 0o2770 and mode(path) == 0o660
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentconsole.cli",
            "--store",
            str(path),
            "store",
            "share",
            "--group",
            "no-such-group-x",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "AGENTCONSOLE_CONFIG": os.devnull},
    )
    assert missing.returncode == 1 and "groupadd no-such-group-x" in missing.stderr
