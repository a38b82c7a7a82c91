"""Store faults give the right answer: a read-only store reads and says why it will not
write, a full one says the disk is full, and every driver error is a StoreError."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from agentconsole.errors import StoreError, StoreFullError, StoreReadOnlyError
from agentconsole.query import parse
from agentconsole.store import Store, connect
from tests.conftest import inbound
from tests.readonly import read_only


async def make_store(path: Path, messages: int = 1) -> None:
    store = await connect(path, agent="alice")
    await store.ensure_channel("mail", "email", "email")
    await store.ingest("mail", [inbound(f"message {n}") for n in range(messages)], None)
    await store.close()


async def test_a_read_only_store_reads_and_refuses_to_write(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    await make_store(folder / "store.db")
    with read_only(folder) as ro:
        store = await connect(ro / "store.db", agent="alice")
        try:
            assert store.read_only
            [row] = await store.find(parse("status:any"))
            assert (await store.conversation(row.id)).messages[0].body == "message 0"
            assert await store.wake_snoozed() == []
            with pytest.raises(StoreReadOnlyError, match=r"the store at .*store\.db is read-only"):
                await store.set_status(row.id, "closed")
        finally:
            await store.close()


async def test_a_read_only_store_that_needs_an_upgrade_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    await make_store(folder / "store.db")
    with contextlib.closing(sqlite3.connect(folder / "store.db")) as conn:
        conn.execute("PRAGMA user_version = 2")
    upgrade = "needs an upgrade .* open it once with write"
    with read_only(folder) as ro, pytest.raises(StoreReadOnlyError, match=upgrade):
        await connect(ro / "store.db", agent="alice")


async def test_no_store_in_a_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "other").write_text("x")
    refused = "cannot create the store .* not writable"
    with read_only(folder) as ro, pytest.raises(StoreReadOnlyError, match=refused):
        await connect(ro / "store.db", agent="alice")


async def test_a_file_that_is_not_a_store_says_so(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"just some text, not SQLite" * 100)
    with pytest.raises(StoreError, match="is not an agentconsole store"):
        await connect(path, agent="alice")


@pytest.mark.sqlite_only
async def test_a_full_store_raises_store_full_and_keeps_what_was_committed(
    store: Store,
) -> None:
    await store.ingest("mail", [inbound("fits")], None)
    pages = await store.run_sync(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    await store.run_sync(lambda c: c.execute(f"PRAGMA max_page_count = {pages + 2}"))
    big = [inbound("x" * 20_000 + str(n)) for n in range(20)]
    with pytest.raises(StoreFullError, match="the disk is full: the store at .* cannot grow"):
        await store.ingest("mail", big, "cursor-after")
    bodies = await store.run_sync(lambda c: c.execute("SELECT body FROM messages").fetchall())
    assert bodies == [("fits",)], "the failed batch left nothing half-written"
    assert await store.channel_cursor("mail") is None
