"""SLA due times kept by the store: chosen by policy, recomputed on every write that moves
them, paused while pending, queried with sla:, breaching first in the urgent order, and
shown by `list --json` / `show --json`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from agentconsole.plugin import InboundMessage
from agentconsole.query import parse
from agentconsole.sla import SlaSettings, settings_from_config
from agentconsole.store import Store
from tests.conftest import inbound
from tests.unit.test_cli import run

HOUR = 3600.0
ROUND_THE_CLOCK = [
    {"name": "urgent", "if": "priority:urgent", "first_response": "1h", "business_hours": False},
    {"name": "vip", "if": "tag:vip", "first_response": "2h", "business_hours": False},
    {"name": "standard", "first_response": "4h", "resolution": "3d", "business_hours": False},
]


def settings(policies: list[dict[str, object]] = ROUND_THE_CLOCK) -> SlaSettings:
    return settings_from_config(policies, None, "test.toml")


def recently(minutes: float) -> datetime:
    return datetime.fromtimestamp(time.time() - minutes * 60, UTC)


def sent(minutes_ago: float, body: str = "Hello", **fields: object) -> InboundMessage:
    """A customer message sent ``minutes_ago``."""
    return dataclasses.replace(inbound(body, **fields), sent_at=recently(minutes_ago))


async def sla_columns(store: Store, conversation_id: int) -> dict[str, object]:
    (row,) = (await store.conversation_rows([conversation_id])).values()
    return {
        "sla": row.sla,
        "target": row.sla_target,
        "due_at": row.sla_due_at,
        "breached": row.sla_breached(time.time()),
    }


async def ids_of(store: Store, query: str, order: str = "urgent") -> list[int]:
    return [row.id for row in await store.find(parse(query), order=order)]  # type: ignore[arg-type]


async def test_the_first_matching_policy_applies_and_follows_priority_and_tags(
    store: Store,
) -> None:
    await store.use_sla(settings())
    message = sent(30)
    report = await store.ingest("mail", [message])
    (conversation,) = report.created
    created = message.sent_at.timestamp()
    assert await sla_columns(store, conversation) == {
        "sla": "standard",
        "target": "first_response",
        "due_at": created + 4 * HOUR,
        "breached": False,
    }
    assert await store.retag(conversation, add=["vip"])
    assert (await sla_columns(store, conversation))["due_at"] == created + 2 * HOUR
    assert await store.set_priority(conversation, 0)  # urgent: the first policy wins
    columns = await sla_columns(store, conversation)
    assert (columns["sla"], columns["due_at"]) == ("urgent", created + HOUR)
    await store.queue_reply(conversation, "On it.")
    columns = await sla_columns(store, conversation)
    assert (columns["sla"], columns["target"], columns["breached"]) == ("urgent", None, False)


async def test_pending_stops_the_clock_and_the_customers_reply_restarts_it(
    store: Store,
) -> None:
    await store.use_sla(settings())
    first = sent(10)
    (conversation,) = (await store.ingest("mail", [first])).created
    before = await sla_columns(store, conversation)
    assert before["due_at"] == first.sent_at.timestamp() + 4 * HOUR
    paused_from = time.time()
    await store.set_status(conversation, "pending")
    paused_by = time.time()
    assert (await sla_columns(store, conversation))["due_at"] is None
    assert await ids_of(store, "sla:paused") == [conversation]
    await asyncio.sleep(0.05)  # a pause long enough to measure
    resumed_from = time.time()
    reply = sent(0, "Here is the screenshot", references=(first.external_id,))
    report = await store.ingest("mail", [reply])
    resumed_by = time.time()
    assert report.reopened == (conversation,)
    after = await sla_columns(store, conversation)
    assert after["target"] == "first_response"
    assert isinstance(after["due_at"], float) and isinstance(before["due_at"], float)
    moved = after["due_at"] - before["due_at"]
    assert resumed_from - paused_by <= moved <= resumed_by - paused_from
    assert await ids_of(store, "sla:paused") == []


async def test_breaching_conversations_come_first_and_sla_terms_find_them(
    store: Store,
) -> None:
    await store.use_sla(settings())
    late = (await store.ingest("mail", [inbound("old", email="old@example.com")])).created[0]
    fresh = (await store.ingest("mail", [sent(1, "new", email="new@example.com")])).created[0]
    assert await store.set_priority(fresh, 1)  # high, but within its target
    # The fixture's messages were sent on 20 November: long past 4 hours.
    assert (await sla_columns(store, late))["breached"] is True
    assert await ids_of(store, "status:open") == [late, fresh]
    assert await ids_of(store, "sla:breached") == [late]
    assert await ids_of(store, "sla:due<1h") == [late]  # past due is due within the hour
    assert await ids_of(store, "sla:due<1h -sla:breached") == []
    assert await ids_of(store, "sla:due>1h") == [fresh]
    # Answering late keeps the breach on record.
    await store.queue_reply(late, "Sorry for the wait")
    assert (await sla_columns(store, late))["breached"] is True
    assert await ids_of(store, "sla:breached") == [late]


async def test_new_policies_recompute_stored_due_times_and_none_clears_them(
    store: Store,
) -> None:
    message = sent(5)
    (conversation,) = (await store.ingest("mail", [message])).created
    assert (await sla_columns(store, conversation))["sla"] is None
    assert await store.use_sla(settings()) == 1
    assert (await sla_columns(store, conversation))["sla"] == "standard"
    assert await store.use_sla(settings()) == 0  # the same policies: nothing to do
    tighter = [{"name": "tight", "first_response": "30m", "business_hours": False}]
    assert await store.use_sla(settings(tighter)) == 1
    assert (await sla_columns(store, conversation))["due_at"] == message.sent_at.timestamp() + 1800
    assert await store.use_sla(None) == 1
    assert (await sla_columns(store, conversation))["sla"] is None


async def test_list_and_show_json_carry_the_sla(
    store: Store, store_location: str | Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[[sla]]\nname = "standard"\nfirst_response = "4h"\nbusiness_hours = false\n',
        encoding="utf-8",
    )
    (conversation,) = (await store.ingest("mail", [inbound()])).created
    listed = run(store_location, "list", "--json", "sla:breached", config=config)
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.splitlines()
    data = json.loads(line)
    assert (data["id"], data["sla"], data["sla_breached"]) == (conversation, "standard", True)
    assert data["sla_due_at"] == "2026-11-20T13:00:00Z"
    shown = json.loads(
        run(store_location, "show", "--json", str(conversation), config=config).stdout
    )
    assert (shown["sla"], shown["sla_due_at"], shown["sla_breached"]) == (
        "standard",
        "2026-11-20T13:00:00Z",
        True,
    )
