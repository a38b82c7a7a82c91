"""`agentconsole store migrate SRC DST`: a SQLite store copied into PostgreSQL and back,
whole (every table, bytes verified), searchable in its new home, and resumable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agentconsole.plugin import Attachment
from agentconsole.store import connect, copying
from tests.conftest import inbound
from tests.postgres_server import PostgresServer


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", *args],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


async def seed(path: Path) -> None:
    store = await connect(path, agent="alice")
    await store.ensure_channel("mail", "email", "email")
    report = await store.ingest(
        "mail",
        [
            inbound(
                f"message {n} about the refund of order {n}",
                subject=f"order {n}",
                thread_key=f"t{n % 7}",
                raw=f"Subject: order {n}\r\n\r\nbody {n}\r\n".encode(),
                attachments=(Attachment(f"a{n}.bin", "application/octet-stream", bytes([n]) * 99),)
                if n % 5 == 0
                else (),
                minutes=n,
            )
            for n in range(60)
        ],
    )
    first = report.created[0]
    await store.retag(first, ["vip"])
    await store.queue_reply(first, "We are on it.")
    await store.add_note(first, "customer called")
    await store.save_draft(report.created[1], "reply", "draft text")
    await store.save_view("vips", "tag:vip")
    await store.close()


async def test_a_sqlite_store_moves_to_postgresql_and_back(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    source = tmp_path / "team.db"
    await seed(source)
    url = postgres.new_database()
    copied = cli("store", "migrate", str(source), url, "--json")
    assert copied.returncode == 0, copied.stderr
    counts = json.loads(copied.stdout)["counts"]
    assert counts["messages"] == 62 and counts["blobs"] == 12 and counts["audit_log"] > 0

    moved = await connect(url, agent="bob")
    try:
        hits = await moved.search("refund")
        assert len(hits) == 50  # searchable: the destination built its own index
        assert [v.label for v in await moved.shared_views()] == ["vips"]
        # new rows get new ids after the copied ones
        new = await moved.ingest("mail", [inbound("after the move", thread_key="new")])
        assert new.created[0] == 8
    finally:
        await moved.close()

    back = tmp_path / "back.db"
    returned = cli("store", "migrate", url, str(back))
    assert returned.returncode == 0, returned.stderr
    assert "verified" in returned.stdout
    store = await connect(back, agent="alice")
    try:
        assert len(await store.search("move")) == 1
        assert (await store.conversation(1)).row.tags == ("vip",)
    finally:
        await store.close()


async def test_an_interrupted_copy_resumes(tmp_path: Path, postgres: PostgresServer) -> None:
    source = tmp_path / "team.db"
    await seed(source)
    url = postgres.new_database()
    # As if the first run had stopped after some conversations: a prefix is there already.
    partial = await connect(url, agent="x")
    origin = await connect(source, agent="x")
    try:
        for table in copying.TABLES[:5]:
            columns, rows = await origin.run_sync(
                lambda db, t=table: copying.read_batch(db, t, None, 3)  # type: ignore[misc]
            )
            await partial.run_sync(
                lambda db, t=table, c=columns, r=rows: copying.write_batch(db, t, c, r)  # type: ignore[misc]
            )
    finally:
        await partial.close()
        await origin.close()
    resumed = cli("store", "migrate", str(source), url, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["counts"]["conversations"] == 7


async def test_every_table_of_the_schema_is_copied(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    known = {t.name for t in copying.TABLES}
    for location in (tmp_path / "s.db", postgres.new_database()):
        store = await connect(location, agent="x")
        try:
            assert await store.run_sync(copying.schema_tables) == known
        finally:
            await store.close()
