"""``agentconsole deliver`` (the real CLI, in a subprocess) and message identity: the same
mail piped again — after more hops — is stored once; a revised mail under the same
Message-ID is stored beside it, and ``show`` says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.channels.email.helpers import SUPPORT, mail, make_maildir

ORIGINAL = mail("Order 5521", "The parcel never arrived.", message_id="<order-5521@x.org>")
HOPS = (
    b"Received: from relay.example.net by mx.acme.example; Tue, 3 Sep 2024 10:00:00 +0200\r\n"
    b"Delivered-To: support@acme.example\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; d=x.org; s=mail;\r\n"
    b"\tbh=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=; b=c2lnbmF0dXJl\r\n"
    b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=acme.example; s=arc; b=c2VhbA==\r\n"
    b"X-Spam-Status: No, score=-1.0\r\n"
)


def cli(
    config: Path, store: Path, *args: str, data: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "agentconsole.cli",
            "--config",
            str(config),
            "--store",
            str(store),
            *args,
        ],
        input=data,
        capture_output=True,
        timeout=60,
    )


def test_redelivery_is_stored_once_and_a_revision_is_kept_with_a_note(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    config = tmp_path / "config.toml"
    config.write_text(
        '[agent]\nname = "alice"\n\n[channels.support]\ntype = "email"\n'
        f'from_address = "{SUPPORT}"\nmaildir = "{root}"\n'
    )
    store = tmp_path / "store.db"
    deliver = ("deliver", "--channel", "support", "--json")

    first = cli(config, store, *deliver, data=ORIGINAL)
    assert first.returncode == 0, first.stderr
    conversation = json.loads(first.stdout)["conversations"][0]

    again = cli(config, store, *deliver, data=HOPS + ORIGINAL.replace(b"\r\n", b"\n"))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "channel": "support",
        "stored": 0,
        "duplicates": 1,
        "conversations": [],
    }

    revised = HOPS + ORIGINAL.replace(b"never arrived.", b"arrived damaged, photo follows.")
    third = cli(config, store, *deliver, data=revised)
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["stored"] == 1
    assert json.loads(third.stdout)["conversations"] == [conversation]

    shown = cli(config, store, "show", str(conversation), "--json")
    assert shown.returncode == 0, shown.stderr
    messages = json.loads(shown.stdout)["messages"]
    assert [m["external_id"] for m in messages] == ["<order-5521@x.org>"] * 2
    assert "photo follows" in messages[1]["body"]
    assert messages[0]["parse_note"] is None
    assert messages[1]["parse_note"] == (
        f"same Message-ID as message {messages[0]['id']}, different content"
    )
    text = cli(config, store, "show", str(conversation))
    assert (
        f"same Message-ID as message {messages[0]['id']}, different content" in text.stdout.decode()
    )
