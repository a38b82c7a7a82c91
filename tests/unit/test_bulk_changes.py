"""Acting on many conversations at once: one outcome each, nothing written for what was so
already, an undo that puts every one back, the CLI's several ids and --query."""

from __future__ import annotations

import json
from pathlib import Path

from agentconsole.models import Change, View
from agentconsole.store import Store, changes
from tests.conftest import inbound
from tests.unit.test_cli import run


async def some(store: Store, count: int) -> list[int]:
    ids = []
    for index in range(count):
        report = await store.ingest(
            "mail", [inbound(f"question {index}", email=f"c{index}@example.com")]
        )
        ids.append(report.created[0])
    return ids


async def audit_count(store: Store) -> int:
    return len(await store.audit_log())


async def test_a_change_on_many_reports_each_and_writes_only_real_changes(store: Store) -> None:
    ids = await some(store, 4)
    await store.set_status(ids[0], "closed")
    await store.assign(ids[1], "bob")
    before = await audit_count(store)
    outcomes = await store.apply([*ids, 999], Change("status", status="closed"))
    assert [(o.conversation_id, o.changed, o.exit_code) for o in outcomes] == [
        (ids[0], False, 1),
        (ids[1], True, 0),
        (ids[2], True, 0),
        (ids[3], True, 0),
        (999, False, 3),
    ]
    assert outcomes[0].error == "already closed"
    assert await audit_count(store) == before + 3  # one entry per conversation changed
    taken = await store.apply(ids[1:3], Change("assign", assignee="alice"))
    assert [o.exit_code for o in taken] == [4, 0]  # bob holds the first: not taken silently


async def test_undo_puts_every_conversation_back_and_is_audited(store: Store) -> None:
    ids = await some(store, 3)
    await store.set_status(ids[0], "pending")
    await store.retag(ids[1], ["vip"])
    await store.set_priority(ids[2], 0)
    snapshot = [await store.run_sync(lambda c, i=i: changes.state(c, i)) for i in ids]
    done = await store.apply(ids, Change("status", status="closed"))
    await store.apply(ids, Change("tags", add=("outage",), remove=("vip",)))
    restored = await store.restore([o.before for o in done if o.before])
    assert restored == ids
    after = [await store.run_sync(lambda c, i=i: changes.state(c, i)) for i in ids]
    assert after == snapshot
    undo_entries = [e for e in await store.audit_log() if e.action == "undo"]
    assert len(undo_entries) == 3


async def test_an_action_that_changes_nothing_writes_nothing(store: Store) -> None:
    (conversation,) = await some(store, 1)
    before = await audit_count(store)
    assert await store.set_status(conversation, "open") is False
    assert await store.retag(conversation, remove=["absent"]) is False
    assert await store.set_priority(conversation, 2) is False
    assert await audit_count(store) == before


async def test_a_conversation_named_again_in_one_batch_changes_once(store: Store) -> None:
    """An id and the id of a conversation merged into it are the same conversation: the
    batch, written together, still decides the second on what the first did."""
    keep, merged = await some(store, 2)
    await store.merge_conversations(keep, merged)
    before = await audit_count(store)
    outcomes = await store.apply([keep, merged, keep], Change("status", status="closed"))
    assert [(o.conversation_id, o.changed, o.error) for o in outcomes] == [
        (keep, True, None),
        (keep, False, "already closed"),
        (keep, False, "already closed"),
    ]
    assert await audit_count(store) == before + 1
    assert (await store.conversation(keep)).row.status == "closed"
    assert (await store.verify_audit()).intact


async def test_more_than_a_batch_changes_in_batches(store: Store) -> None:
    ids = await some(store, changes.BATCH + 20)
    outcomes = await store.apply(ids, Change("tags", add=("bulk",)))
    assert all(o.changed for o in outcomes) and len(outcomes) == len(ids)
    assert len(await store.conversation_ids(View("tag", "bulk"))) == len(ids)


async def test_the_cli_closes_what_a_query_selects(
    store: Store, store_location: str | Path
) -> None:
    ids = await some(store, 5)
    for conversation in ids[:3]:
        await store.retag(conversation, ["outage"])
    await store.close()
    closed = run(store_location, "close", "--query", "tag:outage", "--json")
    assert closed.returncode == 0, closed.stderr
    printed = [json.loads(line) for line in closed.stdout.splitlines()]
    assert sorted(printed, key=lambda line: line["id"]) == [
        {"id": i, "status": "closed"} for i in ids[:3]
    ]
    again = run(store_location, "close", str(ids[0]), str(ids[3]), "--json")
    assert again.returncode == 1  # not every one changed
    assert [json.loads(line)["id"] for line in again.stdout.splitlines()] == [ids[3]]
    assert f"#{ids[0]}: already closed" in again.stderr
    missing = run(store_location, "reopen", "99999")
    assert missing.returncode == 3
    tagged = run(store_location, "tag", str(ids[4]), "+vip", "--query", "-status:closed -tag:vip")
    assert tagged.returncode == 0, tagged.stderr
    assert f"#{ids[4]} tags: vip" in tagged.stdout
