"""Opening a store written by an earlier version: its data survives every migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agentconsole.store import connect
from agentconsole.store.sqlite.connection import _migrations, _statements
from tests.conftest import inbound


def write_schema_3_store(path: Path) -> None:
    """A store as version 3 of the schema left it: one conversation, a customer message
    with raw bytes, a reference and an attachment, and a sent reply."""
    conn = sqlite3.connect(path, isolation_level=None)
    for number, _, sql in _migrations():
        if number <= 3:
            for statement in _statements(sql):
                conn.execute(statement)
    conn.executescript(
        """
        PRAGMA user_version = 3;
        INSERT INTO channels(id, name, type, kind) VALUES (1, 'mail', 'email', 'email');
        INSERT INTO contacts(id, name, created_at) VALUES (1, 'Ada', 0);
        INSERT INTO identities(contact_id, namespace, address) VALUES (1, 'email', 'ada@example.com');
        INSERT INTO conversations(id, channel_id, contact_id, subject, created_at, updated_at,
            last_message_at, message_count) VALUES (1, 1, 1, 'Invoice', 0, 0, 0, 2);
        INSERT INTO messages(id, conversation_id, channel_id, external_id, direction,
            author_name, sent_at, created_at, subject, body, search_key, participants)
            VALUES (1, 1, 1, '<old@example.com>', 'in', 'Ada', 0, 0, 'Invoice', 'old body',
            1, '[["email","bob@example.com"]]');
        INSERT INTO messages(id, conversation_id, channel_id, external_id, direction,
            author_name, agent, sent_at, created_at, subject, body, search_key)
            VALUES (2, 1, 1, '<reply@acme.example>', 'out', 'alice', 'alice', 1, 1, 'Invoice',
            'sent reply', 2);
        INSERT INTO messages_fts(rowid, subject, body, author) VALUES (1, 'Invoice', 'old body', 'Ada');
        INSERT INTO message_refs(message_id, external_id) VALUES (1, '<parent@example.com>');
        INSERT INTO raw_messages(message_id, raw) VALUES (1, X'52415721');
        INSERT INTO blobs(sha256, size, data) VALUES ('abc', 3, X'010203');
        INSERT INTO attachments(message_id, filename, content_type, size, sha256)
            VALUES (1, 'a.bin', 'application/octet-stream', 3, 'abc');
        INSERT INTO outbox(message_id, channel_id, idempotency_key, state, next_attempt_at,
            created_at) VALUES (2, 1, 'k1', 'sent', 0, 0);
        """
    )
    conn.close()


async def test_a_schema_3_store_keeps_its_messages_and_dedupes_them_by_id(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    write_schema_3_store(path)
    store = await connect(path, agent="alice")
    try:
        detail = await store.conversation(1)
        assert [(m.id, m.body, m.external_id) for m in detail.messages] == [
            (1, "old body", "<old@example.com>"),
            (2, "sent reply", "<reply@acme.example>"),
        ]
        assert [a.filename for a in detail.messages[0].attachments] == ["a.bin"]
        assert detail.messages[1].state == "sent"
        assert await store.raw_message(1) == b"RAW!"
        assert [hit.message_id for hit in await store.search("old")] == [1]
        # Old rows carry no digest: a redelivery with other bytes is still a duplicate, and
        # the echo of the sent reply too.
        report = await store.ingest(
            "mail",
            [
                inbound("old body, fetched again", external_id="<old@example.com>"),
                inbound("sent reply", external_id="<reply@acme.example>", from_agent=True),
            ],
        )
        assert (report.stored, report.duplicates) == (0, 2)
        # New mail threads onto the old message through its reference as before.
        reply = await store.ingest(
            "mail", [inbound("thanks", references=("<old@example.com>",), minutes=1)]
        )
        assert reply.touched == (1,)

        def schema(conn: sqlite3.Connection) -> tuple[int, int, list[str], list[tuple[str]]]:
            return (
                conn.execute("PRAGMA user_version").fetchone()[0],
                conn.execute("PRAGMA foreign_keys").fetchone()[0],
                [r[1] for r in conn.execute("PRAGMA index_list(messages)")],
                conn.execute("PRAGMA foreign_key_check").fetchall(),
            )

        version, foreign_keys, indexes, dangling = await store.run_sync(schema)
        assert version >= 4 and foreign_keys == 1 and dangling == []
        assert {"messages_identity", "messages_conversation"} <= set(indexes)
    finally:
        await store.close()
