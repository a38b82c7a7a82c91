"""Rules as a team uses them: each action on ingest, ``stop``, the auto-reply loop guard,
agent-action events, schedule rules on a fixed clock, fair round robin, undo, hooks, and a
broken rule reported while the others run."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentconsole import config as config_module
from agentconsole.models import Change
from agentconsole.replies import load_library
from agentconsole.rules.definition import RuleSet
from agentconsole.rules.loading import load_rules
from agentconsole.rules.runner import RulesRunner
from agentconsole.store import Store, changes, connect
from agentconsole.sync import SyncRunner
from tests.conftest import BASE_TIME, inbound

ACK = """+++
title = "Billing: we got it"
+++
Hi {customer.first_name}, we got your message about "{conversation.subject}".
"""


def rule_set(tmp_path: Path, rules: list[dict[str, Any]], **top: Any) -> RuleSet:
    """The rules of a config holding ``rules`` (and ``top`` tables), with one saved reply,
    ``ack``, in a replies folder of its own."""
    folder = tmp_path / "replies"
    folder.mkdir(exist_ok=True)
    (folder / "ack.md").write_text(ACK, encoding="utf-8")
    data = {"agent": {"name": "alice"}, "rules": rules, **top}
    config = config_module.parse(data, str(tmp_path / "config.toml"))
    return load_rules(config, load_library([folder]))


def using(store: Store, tmp_path: Path, rules: list[dict[str, Any]], **top: Any) -> RuleSet:
    loaded = rule_set(tmp_path, rules, **top)
    assert not loaded.problems, loaded.problems
    store.use_rules(loaded)
    return loaded


async def new(store: Store, body: str = "I want a refund", **fields: Any) -> int:
    report = await store.ingest("mail", [inbound(body, **fields)])
    return report.touched[0]


async def row(store: Store, conversation_id: int) -> Any:
    return (await store.conversation_rows([conversation_id]))[conversation_id]


async def test_each_action_runs_on_ingest_audited_as_the_rule(store: Store, tmp_path: Path) -> None:
    using(
        store,
        tmp_path,
        [
            {
                "name": "refunds to billing",
                "on": "inbound",
                "if": "refund -from:@acme.example",
                "then": {
                    "tags": ["+billing", "-new"],
                    "priority": "high",
                    "assign": "bob",
                    "note": "Refund: check the order first.",
                },
            }
        ],
    )
    refund = await new(store)
    other = await new(store, "Where is my parcel?", email="bo@example.org")
    staff = await new(store, "refund test", email="qa@acme.example")
    got = await row(store, refund)
    assert (got.tags, got.priority, got.assignee) == (("billing",), 1, "bob")
    detail = await store.conversation(refund)
    note = detail.messages[-1]
    assert (note.direction, note.author, note.body) == (
        "note",
        "rule 'refunds to billing'",
        "Refund: check the order first.",
    )
    actions = {(e.agent, e.action) for e in await store.audit_log(refund)}
    assert {"tag", "priority", "assign", "note", "rule"} <= {a for _, a in actions}
    assert {agent for agent, _ in actions} == {"rule 'refunds to billing'"}
    for untouched in (other, staff):
        assert (await row(store, untouched)).tags == ()


async def test_status_and_snooze_actions(store: Store, tmp_path: Path) -> None:
    using(
        store,
        tmp_path,
        [
            {"name": "spam-ish", "if": "unsubscribe", "then": {"status": "close"}},
            {"name": "later", "if": "holiday", "then": {"snooze": "in 2d"}},
            {"name": "also later", "if": "vacation", "then": {"status": "snooze in 3h"}},
        ],
    )
    written = await new(store, "on vacation", email="v@example.com")
    assert abs((await row(store, written)).snooze_until - (time.time() + 3 * 3600)) < 60
    closed = await new(store, "please unsubscribe me")
    snoozed = await new(store, "after the holiday", email="h@example.com")
    assert (await row(store, closed)).status == "closed"
    later = await row(store, snoozed)
    assert later.status == "snoozed"
    assert abs(later.snooze_until - (time.time() + 2 * 86400)) < 60


async def test_stop_keeps_later_rules_from_the_same_event(store: Store, tmp_path: Path) -> None:
    using(
        store,
        tmp_path,
        [
            {"name": "vip", "if": "from:@vip.example", "then": {"tags": ["+vip"]}, "stop": True},
            {"name": "everyone", "then": {"tags": ["+triage"]}},
        ],
    )
    vip = await new(store, "hello", email="ceo@vip.example")
    plain = await new(store, "hello", email="someone@example.com")
    assert (await row(store, vip)).tags == ("vip",)
    assert (await row(store, plain)).tags == ("triage",)


async def test_a_later_rule_sees_what_an_earlier_one_did(store: Store, tmp_path: Path) -> None:
    using(
        store,
        tmp_path,
        [
            {"name": "tagger", "if": "invoice", "then": {"tags": ["+billing"]}},
            {"name": "billing first", "if": "tag:billing", "then": {"priority": "urgent"}},
        ],
    )
    assert (await row(store, await new(store, "my invoice"))).priority == 0


async def test_auto_reply_goes_to_customers_once_a_day_never_to_robots(
    store: Store, tmp_path: Path
) -> None:
    using(store, tmp_path, [{"name": "ack", "on": "inbound", "then": {"reply": "ack"}}])

    async def replies(conversation_id: int) -> list[Any]:
        detail = await store.conversation(conversation_id)
        return [m for m in detail.messages if m.direction == "out"]

    first = await new(
        store, "Help with my invoice", subject="Invoice", name="Ada Lovelace", external_id="<1@x>"
    )
    [reply] = await replies(first)
    assert reply.state == "queued"
    assert reply.agent == "rule 'ack'"
    assert reply.body.startswith('Hi Ada, we got your message about "Invoice"')
    got = await row(store, first)
    assert got.waiting_since is not None  # an acknowledgement is not an answer
    assert (await store.conversation(first)).first_response_at is None
    # The customer writes again the same day: no second acknowledgement (no mail loop).
    for text in ("more details", "and again"):
        report = await store.ingest("mail", [inbound(text, references=("<1@x>",))])
        assert report.touched == (first,)
    assert len(await replies(first)) == 1
    # An auto-reply, a bounce or our own mail never gets one.
    robot = await new(store, "I am out of office", email="robot@example.net", automated=True)
    ours = await new(store, "we wrote this", email="us@example.com", from_agent=True)
    assert await replies(robot) == []
    assert [m.agent for m in await replies(ours)] == [None]  # only our own message


async def test_agent_actions_trigger_their_events(store: Store, tmp_path: Path) -> None:
    using(
        store,
        tmp_path,
        [
            {
                "name": "closed",
                "on": "status_change",
                "if": "status:closed",
                "then": {"tags": ["+done"]},
            },
            {
                "name": "taken",
                "on": "assignment",
                "if": "-is:unassigned",
                "then": {"priority": "high"},
            },
        ],
    )
    conversation = await new(store)
    assert (await row(store, conversation)).tags == ()
    await store.apply([conversation], Change("assign", assignee="alice"))
    assert (await row(store, conversation)).priority == 1
    await store.apply([conversation], Change("status", status="closed"))
    assert (await row(store, conversation)).tags == ("done",)
    taggers = {e.agent for e in await store.audit_log(conversation) if e.action == "tag"}
    assert taggers == {"rule 'closed'"}


async def test_round_robin_is_fair_over_100_conversations(store: Store, tmp_path: Path) -> None:
    using(
        store,
        tmp_path,
        [{"name": "spread", "then": {"assign": "round_robin:billing"}}],
        teams={"billing": ["ana", "ben", "cy"]},
    )
    ids = []
    for number in range(100):
        ids.append(await new(store, f"question {number}", email=f"c{number}@example.com"))
    rows = await store.conversation_rows(ids)
    counts: dict[str, int] = {}
    for conversation_id in ids:
        counts[rows[conversation_id].assignee] = counts.get(rows[conversation_id].assignee, 0) + 1
    assert counts == {"ana": 34, "ben": 33, "cy": 33}
    # In turn, not in clumps: each three in a row go to the three members.
    assert [rows[i].assignee for i in ids[:6]] == ["ana", "ben", "cy", "ana", "ben", "cy"]


async def test_least_busy_picks_the_member_with_fewest_open(store: Store, tmp_path: Path) -> None:
    busy = [await new(store, f"old {n}", email=f"o{n}@example.com") for n in range(3)]
    await store.apply(busy[:2], Change("assign", assignee="ana"))
    await store.apply(busy[2:], Change("assign", assignee="ben"))
    using(
        store,
        tmp_path,
        [{"name": "balance", "then": {"assign": "least_busy:billing"}}],
        teams={"billing": ["ana", "ben", "cy"]},
    )
    first = await new(store, "new one", email="n1@example.com")
    second = await new(store, "new two", email="n2@example.com")
    assert [(await row(store, i)).assignee for i in (first, second)] == ["cy", "ben"]


async def test_a_rule_never_takes_a_conversation_an_agent_holds(
    store: Store, tmp_path: Path
) -> None:
    conversation = await new(store, external_id="<held@x>")
    await store.apply([conversation], Change("assign", assignee="alice"))
    using(store, tmp_path, [{"name": "to bob", "then": {"assign": "bob"}}])
    await store.ingest("mail", [inbound("any news?", references=("<held@x>",))])
    assert (await row(store, conversation)).assignee == "alice"


async def test_schedule_rules_run_on_the_runner_clock(store: Store, tmp_path: Path) -> None:
    using(
        store,
        tmp_path,
        [
            {
                "name": "close stale",
                "on": "schedule",
                "if": "status:pending waiting:>24h",
                "then": {"status": "closed", "reply": "ack"},
            }
        ],
    )
    conversation = await new(store, "are you there?")  # sent at BASE_TIME
    await store.apply([conversation], Change("status", status="pending"))
    clock = BASE_TIME.timestamp() + 3600
    runner = RulesRunner(store, clock=lambda: clock)
    assert await runner.tick() == {"close stale": 0}
    assert (await row(store, conversation)).status == "pending"
    clock = BASE_TIME.timestamp() + 25 * 3600
    assert await runner.tick() == {"close stale": 1}
    assert (await row(store, conversation)).status == "closed"
    replies = [m for m in (await store.conversation(conversation)).messages if m.direction == "out"]
    assert [m.agent for m in replies] == ["rule 'close stale'"]
    assert await runner.tick() == {"close stale": 0}  # closed: no longer matches


async def test_a_rule_change_is_undone_like_an_agents(store: Store, tmp_path: Path) -> None:
    conversation = await new(store, "hello", external_id="<first@x>")
    before = await store.run_sync(lambda c: changes.state(c, conversation))
    using(
        store,
        tmp_path,
        [{"name": "urgent", "then": {"priority": "urgent", "tags": ["+hot"], "status": "pending"}}],
    )
    await store.ingest("mail", [inbound("hello again", references=("<first@x>",))])
    assert (await row(store, conversation)).priority == 0
    found = await store.last_rule_change(conversation)
    assert found is not None
    rule, state = found
    assert rule == "urgent"
    # What the rule changed goes back, as the customer's reopen left it.
    assert await store.restore([state]) == [conversation]
    after = await store.run_sync(lambda c: changes.state(c, conversation))
    assert (after.priority, after.tags, after.status) == (before.priority, (), "open")
    assert [e.action for e in await store.audit_log(conversation)][0] == "undo"


async def test_hooks_run_after_commit_with_json_and_failures_are_recorded(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "hook.json"
    using(
        store,
        tmp_path,
        [
            {
                "name": "notify",
                "if": "refund",
                "then": {"hook": f'cat > {out}; echo "$AGENTCONSOLE_RULE" >> {out}.env'},
            },
            {"name": "broken", "if": "refund", "then": {"hook": "echo nope >&2; exit 3"}},
            {"name": "slow", "if": "refund", "then": {"hook": "sleep 30"}},
        ],
    )
    conversation = await new(store, "refund please", subject="Refund")
    assert not out.exists()  # queued in the transaction, not run in it
    runner = RulesRunner(store, hook_timeout=0.5)
    assert await runner.run_hooks() == 3
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["id"] == conversation
    assert Path(f"{out}.env").read_text(encoding="utf-8") == "notify\n"
    failures = {
        e.agent: json.loads(e.detail)["error"]
        for e in await store.audit_log(conversation)
        if e.action == "rule.hook_failed"
    }
    assert "exit 3" in failures["rule 'broken'"] and "nope" in failures["rule 'broken'"]
    assert "did not finish within 0.5 s" in failures["rule 'slow'"]
    assert await runner.run_hooks() == 0


def test_broken_rules_are_reported_with_file_and_name_and_the_rest_load(tmp_path: Path) -> None:
    loaded = rule_set(
        tmp_path,
        [
            {"name": "good", "then": {"tags": ["+ok"]}},
            {"name": "bad query", "if": "tag:(", "then": {"tags": ["+x"]}},
            {"name": "no reply", "then": {"reply": "akc"}},
            {"name": "no team", "then": {"assign": "round_robin:biling"}},
            {"name": "typo", "then": {"priorty": "high"}},
            {"name": "when", "on": "inbund", "then": {"tags": ["+x"]}},
        ],
        teams={"billing": ["ana"]},
    )
    assert [r.name for r in loaded.rules] == ["good"]
    problems = {p.rule: str(p) for p in loaded.problems}
    assert set(problems) == {"bad query", "no reply", "no team", "typo", "when"}
    assert all(text.startswith(f"{tmp_path / 'config.toml'}: rule ") for text in problems.values())
    assert "did you mean 'ack'" in problems["no reply"]
    assert "did you mean 'billing'" in problems["no team"]
    assert "did you mean 'priority'" in problems["typo"]
    assert "did you mean 'inbound'" in problems["when"]


def test_a_shared_rules_file_follows_the_configs_rules(tmp_path: Path) -> None:
    shared = tmp_path / "team-rules.toml"
    shared.write_text(
        '[[rules]]\nname = "team"\nthen = { tags = ["+team"] }\n'
        '[[rules]]\nname = "broken"\nif = "nosuchfield:x"\nthen = { tags = ["+x"] }\n',
        encoding="utf-8",
    )
    loaded = rule_set(
        tmp_path,
        [{"name": "mine", "then": {"tags": ["+mine"]}}],
        automation={"files": ["team-rules.toml"]},
    )
    assert [r.name for r in loaded.rules] == ["mine", "team"]
    [problem] = loaded.problems
    assert str(problem).startswith(f"{shared}: rule 'broken': if:")


def test_a_rules_file_that_is_not_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text("[[rules]\n", encoding="utf-8")
    with pytest.raises(config_module.ConfigError, match="rules.toml: not valid TOML"):
        rule_set(tmp_path, [], automation={"files": ["rules.toml"]})


async def test_the_sync_runner_runs_schedule_rules_and_hooks(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "hooked"
    using(
        store,
        tmp_path,
        [
            {"name": "stale", "on": "schedule", "if": "waiting:>24h", "then": {"tags": ["+stale"]}},
            {"name": "tell", "if": "urgent", "then": {"hook": f"cat > {out}"}},
        ],
    )
    config = config_module.parse({"agent": {"name": "alice"}}, str(tmp_path / "config.toml"))
    runner = SyncRunner(store, config)
    runner.rules.clock = lambda: BASE_TIME.timestamp() + 2 * 86400
    stale = await new(store, "anyone?")
    results = await runner.run_once()  # `sync --once`: the schedule rules and hooks once
    assert results == {}
    assert (await row(store, stale)).tags == ("stale",)
    await runner.start()
    try:
        await store.ingest("mail", [inbound("urgent!", email="u@example.com")])
        deadline = time.monotonic() + 20
        while (hooked := _json_in(out)) is None:
            assert time.monotonic() < deadline, "the running runner never ran the hook"
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    assert hooked["subject"] == "urgent!"


def _json_in(path: Path) -> Any:
    """The JSON document in ``path`` once it is whole; None before."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


async def test_a_schedule_rule_acts_on_a_conversation_once_a_day(
    store: Store, tmp_path: Path
) -> None:
    using(
        store,
        tmp_path,
        [
            {
                "name": "nudge",
                "on": "schedule",
                "if": "waiting:>1h",
                "then": {"note": "Still waiting."},
            }
        ],
    )
    conversation = await new(store, "hello?")
    clock = BASE_TIME.timestamp() + 2 * 3600
    runner = RulesRunner(store, clock=lambda: clock)
    for minute in range(3):
        assert await runner.tick() == {"nudge": 1 if minute == 0 else 0}
        clock += 60
    clock += 86_400
    assert await runner.tick() == {"nudge": 1}
    notes = [m for m in (await store.conversation(conversation)).messages if m.direction == "note"]
    assert len(notes) == 2


@pytest.fixture
def second_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """A second, empty store beside ``store``'s, on the same backend."""
    if request.config.getoption("--store") != "postgresql":
        yield tmp_path / "second.db"
        return
    server = request.getfixturevalue("postgres")
    url = server.new_database()
    try:
        yield url
    finally:
        server.drop_database(url)


BATCHED_RULES: list[dict[str, Any]] = [
    {"name": "welcome", "on": "new_conversation", "then": {"tags": ["+new"]}},
    {"name": "billing", "if": "refund OR invoice", "then": {"tags": ["+billing", "-new"]}},
    {
        "name": "vip",
        "if": "from:@vip.example",
        "then": {"tags": ["+vip"], "priority": "urgent"},
        "stop": True,
    },
    # Sees the tag "billing" gave in the same batch.
    {
        "name": "billing team",
        "if": "tag:billing",
        "then": {"assign": "round_robin:billing", "status": "pending", "priority": "high"},
    },
    {"name": "closer", "if": "unsubscribe", "then": {"status": "close", "note": "Unsubscribed."}},
    {"name": "junk", "if": "casino", "then": {"spam": True}},
    {"name": "urgent", "if": "urgent", "then": {"assign": "least_busy:oncall"}},
    {"name": "ack", "if": "-tag:vip", "then": {"reply": "ack", "tags": ["+acked"]}},
    {"name": "triage", "if": "-tag:billing", "then": {"tags": ["+triage"], "priority": "low"}},
]

#: Round robin and least busy each on a team of its own: one's turns would otherwise shift
#: the other's picks, which differ between a batch (rule by rule) and one message at a time.
TEAMS = {"billing": ["ana", "ben", "cy"], "oncall": ["dee", "eve"]}

BATCHED_BODIES = [
    "I want a refund",
    "my invoice is wrong",
    "urgent: the site is down",
    "please unsubscribe me",
    "casino bonus for you",
    "a refund, urgent please",
    "hello there",
    "invoice and unsubscribe",
]


async def _rule_effects(store: Store, ids: list[int]) -> list[Any]:
    """For each of ``ids``: its state, the rules' messages in it, and the rules' audit
    entries on it in the order they were written (message ids, which depend on how the
    batch's messages were interleaved, left out)."""
    rows = await store.conversation_rows(ids)
    effects = []
    for conversation_id in ids:
        got = rows.get(conversation_id)
        detail = await store.conversation(conversation_id)
        written = [(m.direction, m.agent, m.body) for m in detail.messages if m.agent]
        entries = []
        for entry in sorted(await store.audit_log(conversation_id), key=lambda e: e.id):
            if entry.agent.startswith("rule '"):
                data = json.loads(entry.detail)
                data.pop("message", None)
                entries.append((entry.agent, entry.action, data))
        state = got and (got.status, got.priority, got.assignee, got.tags)
        effects.append((conversation_id, state, written, entries))
    return effects


async def test_a_batch_gets_what_one_message_at_a_time_gets(
    store: Store, second_location: str | Path, tmp_path: Path
) -> None:
    """Rules act on a batch's matches together: each conversation's state, the rules'
    replies and notes, and its audit entries are those of running the rules on each
    message alone, and the audit chain holds."""
    messages = []
    for round_number in range(4):
        for number, body in enumerate(BATCHED_BODIES):
            domain = "vip.example" if number % 4 == 1 else "example.com"
            messages.append(
                inbound(
                    body,
                    email=f"c{round_number}-{number}@{domain}",
                    automated=number == 6 and round_number % 2 == 0,
                )
            )
    one_by_one = await connect(second_location, agent="alice")
    try:
        await one_by_one.ensure_channel("mail", "email", "email")
        for target in (store, one_by_one):
            using(target, tmp_path, BATCHED_RULES, teams=TEAMS)
        report = await store.ingest("mail", messages)
        alone_ids = [
            (await one_by_one.ingest("mail", [message])).touched[0] for message in messages
        ]
        batched = await _rule_effects(store, list(report.touched))
        alone = await _rule_effects(one_by_one, alone_ids)
        for target in (store, one_by_one):
            assert (await target.verify_audit()).intact
    finally:
        await one_by_one.close()
    assert len(batched) == len(messages)
    assert {"tag", "priority", "status", "assign", "note", "spam", "rule.reply", "rule"} <= {
        action for *_, entries in batched for _, action, _ in entries
    }
    for got, expected in zip(batched, alone, strict=True):
        assert got == expected
    # In a conversation, a rule's changes in the order of its table, then its ``rule`` entry.
    refund = [(agent, action) for agent, action, _ in batched[0][3]]
    assert refund == [
        ("rule 'welcome'", "tag"),
        ("rule 'welcome'", "rule"),
        ("rule 'billing'", "tag"),
        ("rule 'billing'", "rule"),
        ("rule 'billing team'", "priority"),
        ("rule 'billing team'", "status"),
        ("rule 'billing team'", "assign"),
        ("rule 'billing team'", "rule"),
        ("rule 'ack'", "tag"),
        ("rule 'ack'", "rule.reply"),
        ("rule 'ack'", "rule"),
    ]
