"""``merge``, ``split``, ``move`` and their ``--undo`` on the command line, and the
``thread_reason`` ``show --json`` gives each message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentconsole.store import Store
from tests.conftest import inbound
from tests.unit.test_cli import run


@pytest.fixture
async def two(store: Store, store_location: str | Path) -> tuple[int, int]:
    """Two conversations on the mail channel: #a with two messages, #b with one."""
    a = await store.ingest("mail", [inbound("first", external_id="<a1@x>", subject="Order")])
    await store.ingest(
        "mail", [inbound("second", external_id="<a2@x>", references=("<a1@x>",), minutes=5)]
    )
    b = await store.ingest("mail", [inbound("other", external_id="<b1@x>", subject="Other")])
    return a.created[0], b.created[0]


def show(store_location: str | Path, conversation: int) -> dict[str, object]:
    result = run(store_location, "show", str(conversation), "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_show_json_gives_each_message_its_thread_reason(
    two: tuple[int, int], store_location: str | Path
) -> None:
    messages = show(store_location, two[0])["messages"]
    assert isinstance(messages, list)
    assert [m["thread_reason"] for m in messages] == [
        {"kind": "first", "detail": None, "text": "first message of this conversation"},
        {"kind": "references", "detail": "<a1@x>", "text": "joined by References <a1@x>"},
    ]


def test_merge_then_undo(two: tuple[int, int], store_location: str | Path) -> None:
    a, b = two
    result = run(store_location, "merge", str(a), f"#{b}", "--json")
    assert result.returncode == 0, result.stderr
    change = json.loads(result.stdout)
    assert (change["kind"], change["source"], change["target"]) == ("merge", b, a)
    merged = show(store_location, b)
    assert (merged["id"], merged["redirected_from"]) == (a, b)
    assert merged["message_count"] == 3
    text = run(store_location, "show", str(b))
    assert text.stdout.startswith(f"(#{b} was merged into #{a})")
    # An undo given as another kind names the right command and changes nothing.
    wrong = run(store_location, "split", "--undo", str(change["change"]))
    assert wrong.returncode == 2 and f"merge --undo {change['change']}" in wrong.stderr
    undo = run(store_location, "merge", "--undo", str(change["change"]))
    assert undo.returncode == 0, undo.stderr
    assert f"merge {change['change']} undone" in undo.stdout
    assert show(store_location, b)["message_count"] == 1
    again = run(store_location, "merge", "--undo", str(change["change"]))
    assert again.returncode == 4 and "undone already" in again.stderr


def test_split_and_move_with_undo(two: tuple[int, int], store_location: str | Path) -> None:
    a, b = two
    second = show(store_location, a)["messages"][1]["id"]  # type: ignore[index]
    split = run(store_location, "split", str(second))
    assert split.returncode == 0, split.stderr
    assert f"#{a} split at message {second}: 1 messages now in #" in split.stdout
    assert "undo: agentconsole split --undo" in split.stdout
    # The split-off message is alone in its conversation now: moving it would empty it.
    refused = run(store_location, "move", str(second), str(b))
    assert refused.returncode == 2 and "merge the conversation instead" in refused.stderr
    first = show(store_location, a)["messages"][0]["id"]  # type: ignore[index]
    assert run(store_location, "split", str(first)).returncode == 2
    change = json.loads(run(store_location, "split", "--undo", "1", "--json").stdout)
    assert change["undone"] is True
    moved = run(store_location, "move", str(second), str(b), "--json")
    assert moved.returncode == 0, moved.stderr
    messages = show(store_location, b)["messages"]
    assert isinstance(messages, list)
    assert [m["id"] for m in messages][-1] == second
    assert messages[-1]["thread_reason"]["text"] == f"moved here from #{a} by alice"


def test_errors_and_exit_codes(two: tuple[int, int], store_location: str | Path) -> None:
    a, _ = two
    assert run(store_location, "merge", str(a), "999").returncode == 3
    assert run(store_location, "merge", str(a), str(a)).returncode == 2
    assert run(store_location, "merge", str(a)).returncode == 2
    assert run(store_location, "move", "999", str(a)).returncode == 3
    assert run(store_location, "move", "--undo", "999").returncode == 3
