"""A view means the same everywhere: the sidebar's count, its queue and `list` agree."""

from __future__ import annotations

import json
from pathlib import Path

from agentconsole import views
from agentconsole.models import View
from agentconsole.store import Store, connect
from tests.conftest import inbound
from tests.unit.test_cli import run


async def seed(store: Store) -> None:
    """Conversations of every status, some mine, some a colleague's, some nobody's."""
    statuses = ["open", "pending", "snoozed", "closed"]
    for index in range(24):
        report = await store.ingest(
            "mail" if index % 3 else "chat",
            [inbound(f"question {index}", email=f"c{index}@example.com", minutes=index)],
        )
        conversation = report.created[0]
        status = statuses[index % 4]
        if status == "snoozed":
            await store.set_status(conversation, "snoozed", snooze_until=4_000_000_000.0)
        elif status != "open":
            await store.set_status(conversation, status)
        owner = ("alice", "bob", None)[index % 3]
        if owner:
            await store.assign(conversation, owner, force=True)
        if index % 5 == 0:
            await store.retag(conversation, ["billing"])


async def test_sidebar_counts_queues_and_list_agree(
    store: Store, store_location: str | Path
) -> None:
    await seed(store)
    counts = await store.view_counts()
    every_view = [View(d.key) for d in views.BUILT_IN]
    every_view += [View("channel", "mail"), View("channel", "chat"), View("tag", "billing")]
    for view in every_view:
        ids = await store.conversation_ids(view)
        assert counts[view.key] == len(ids), view.key
    await store.close()
    mine = [
        json.loads(line)["id"]
        for line in run(store_location, "list", "--mine", "--json").stdout.splitlines()
    ]
    assert len(mine) == counts["mine"] > 0
    assert set(mine) == set(await _ids(store_location, View("mine")))
    unassigned = run(store_location, "list", "--unassigned", "--json").stdout.splitlines()
    assert len(unassigned) == counts["unassigned"] > 0


async def test_list_takes_a_query_and_defaults_to_not_closed(
    store: Store, store_location: str | Path
) -> None:
    await seed(store)
    await store.close()
    default = run(store_location, "list", "--json").stdout.splitlines()
    assert len(default) == 18 and all('"closed"' not in line for line in default)
    billing = run(store_location, "list", "tag:billing status:any", "--json").stdout.splitlines()
    assert len(billing) == 5
    shorthand = run(store_location, "list", "--tag", "billing", "--status", "any", "--json")
    assert shorthand.stdout.splitlines() == billing
    wrong = run(store_location, "list", "tga:billing")
    assert wrong.returncode == 2 and "did you mean 'tag'?" in wrong.stderr


async def _ids(path: Path, view: View) -> list[int]:
    store = await connect(path, agent="alice")
    try:
        return await store.conversation_ids(view)
    finally:
        await store.close()
