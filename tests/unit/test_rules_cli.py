"""``agentconsole rules list|test|undo`` as a team uses them before enabling a rule: the
replay says what would have happened and writes nothing (the store file stays byte for byte
the same)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from agentconsole import config as config_module
from agentconsole.opening import open_store
from agentconsole.store import Store
from tests.conftest import inbound
from tests.unit.test_cli import lines, run
from tests.unit.test_rules import rule_set

CONFIG = """
[teams]
billing = ["ana", "ben"]

[[rules]]
name = "refunds to billing"
on = "inbound"
if = "refund"
then = { tags = ["+billing"], priority = "high", assign = "round_robin:billing" }
enabled = false

[[rules]]
name = "broken"
if = "tag:("
then = { tags = ["+x"] }
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.sqlite_only  # compares the store file byte for byte
async def test_rules_test_reports_what_would_happen_and_writes_nothing(
    store: Store, store_path: Path, tmp_path: Path
) -> None:
    for number in range(3):
        await store.ingest(
            "mail", [inbound(f"refund for order {number}", email=f"r{number}@example.com")]
        )
    await store.ingest("mail", [inbound("where is my parcel", email="p@example.com")])
    await store.close()
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    before = digest(store_path)

    result = run(
        store_path,
        "rules",
        "test",
        "refunds to billing",
        "--since",
        "3650d",
        "--json",
        config=config,
    )
    assert result.returncode == 0, result.stderr
    [replayed] = lines(result)
    assert replayed["matched"] == 3 and replayed["enabled"] is False
    assert replayed["changes"] == {
        "+billing": 3,
        "priority high": 3,
        "assign ana": 2,
        "assign ben": 1,
    }
    assert sorted(replayed["sample_ids"]) == [1, 2, 3]
    text = run(store_path, "rules", "test", "refunds to billing", "--since", "3650d", config=config)
    assert "would have matched 3 conversations" in text.stdout
    assert digest(store_path) == before  # byte-identical: nothing was written
    listed = run(
        store_path, "rules", "test", "refunds to billing", "--since", "3650d", config=config
    )
    assert listed.stdout == text.stdout
    assert digest(store_path) == before
    # The disabled rule really did not run on ingest, and nothing was tagged by the replay.
    shown = lines(run(store_path, "list", "--json", config=config))
    assert all(row["tags"] == [] for row in shown)


def test_rules_list_shows_rules_and_broken_ones(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    result = run(tmp_path / "none.db", "rules", "list", config=config)
    assert result.returncode == 1  # a broken rule: scripts checking a shared file see it
    first, second = result.stdout.splitlines()
    assert first.startswith("refunds to billing") and "(disabled)" in first
    assert "assign round_robin:billing" in first
    assert second.startswith("broken") and f"{config}: rule 'broken': if:" in second
    listed = run(tmp_path / "none.db", "rules", "list", "--json", config=config)
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [entry["name"] for entry in entries] == ["refunds to billing", "broken"]
    assert entries[1]["error"].startswith("if: tag: needs a value")


def test_an_unknown_rule_is_named_with_the_closest(tmp_path: Path, store_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    store_path.touch()
    result = run(store_path, "rules", "test", "refund to billing", config=config)
    assert result.returncode == 3
    assert "no rule 'refund to billing'; did you mean 'refunds to billing'?" in result.stderr


async def test_rules_undo_puts_back_what_the_rule_changed(
    store: Store, store_location: str | Path, tmp_path: Path
) -> None:
    store.use_rules(rule_set(tmp_path, [{"name": "hot", "then": {"priority": "urgent"}}]))
    conversation = (await store.ingest("mail", [inbound("hello")])).touched[0]
    await store.close()
    result = run(store_location, "rules", "undo", str(conversation), "--json")
    assert result.returncode == 0, result.stderr
    assert lines(result) == [{"id": conversation, "rule": "hot", "undone": True}]
    [row] = lines(run(store_location, "list", "--json"))
    assert row["priority"] == "normal"
    again = run(store_location, "rules", "undo", "999")
    assert again.returncode == 3 and "no rule changed conversation 999" in again.stderr


async def test_a_broken_rule_is_reported_when_the_store_opens_and_the_others_run(
    store: Store, store_location: str | Path, tmp_path: Path
) -> None:
    await store.close()
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.replace("enabled = false", "enabled = true"), encoding="utf-8")
    result = run(store_location, "list", config=config)
    assert result.returncode == 0
    assert f"{config}: rule 'broken': if:" in result.stderr
    assert "(the other rules run)" in result.stderr
    reopened = await open_store(config_module.load(str(config)), store_location)
    try:
        report = await reopened.ingest("mail", [inbound("refund please", email="z@example.com")])
        row = (await reopened.conversation_rows(report.touched))[report.touched[0]]
        assert (row.tags, row.assignee) == (("billing",), "ana")
    finally:
        await reopened.close()
