"""The store contract, checked on every backend (SQLite and a real PostgreSQL), the way the
plugin contract is checked on every plugin. The whole store suite also runs on PostgreSQL
with ``pytest --store=postgresql``; these tests hold what must be *equal* between backends
and what each must say in its own terms (errors, versions, live changes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agentconsole.errors import StoreError, UsageError
from agentconsole.plugin import Attachment
from agentconsole.query import parse
from agentconsole.store import Store, connect
from agentconsole.store.db import Db
from tests.conftest import inbound
from tests.postgres_server import PostgresServer

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    if request.param == "sqlite":
        yield tmp_path / "contract.db"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.new_database()
    yield url
    server.drop_database(url)


@pytest.fixture
async def opened(location: str | Path) -> AsyncIterator[Store]:
    store = await connect(location, agent="alice")
    await store.ensure_channel("mail", "email", "email")
    try:
        yield store
    finally:
        await store.close()


#: Messages whose words stress tokenizing: case, accents, addresses, numbers, punctuation.
CORPUS = [
    ("Refund for order 1234", "Hello, I would like a REFUND for my café order."),
    ("Re: Refund for order 1234", "Any news? My e-mail is ada@example.com, version 3.5.1."),
    ("Password reset", "The reset link expired; résumé attached. Naïve question: why?"),
    ("Invoice", "Invoice #88 is wrong: the subscription was cancelled."),
    ("Subscriptions", "Subscribe me to the newsletter, unsubscribe my colleague."),
    ("Über den Export", "Der Export nach Zürich schlägt fehl; straße und STRASSE."),
    ("Crash on start", "App crashes at launch. Stack: NullPointerException in main()."),
]

QUERIES = [
    "refund",
    "REFUND",
    "cafe",
    "café",
    "resume",
    "subscri*",
    "subscription",
    '"reset link"',
    '"link reset"',
    "e-mail",
    "ada@example.com",
    "example",
    "3.5.1",
    "1234 order",
    "subject:refund",
    "subject:invoice",
    "zurich",
    "uber",
    "crash*",
    "refund OR invoice",
    "refund -cafe",
    "nullpointerexception",
]


async def _seed(store: Store) -> None:
    await store.ingest(
        "mail",
        [
            inbound(body, subject=subject, thread_key=f"t{n}", minutes=n)
            for n, (subject, body) in enumerate(CORPUS)
        ],
    )


async def test_both_backends_find_the_same_messages(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    """The same corpus, the same queries: the same hits in the same order, and the same
    conversations for ``list``."""
    found: dict[str, dict[str, object]] = {}
    for backend, location in (
        ("sqlite", tmp_path / "same.db"),
        ("postgresql", postgres.new_database()),
    ):
        store = await connect(location, agent="alice")
        await store.ensure_channel("mail", "email", "email")
        await _seed(store)
        results: dict[str, object] = {}
        for query in QUERIES:
            try:
                hits: list[str] | str = [h.subject for h in await store.search(query)]
            except UsageError as error:  # `search` needs a word at the top level
                hits = str(error)
            listed = await store.find(parse(query))
            results[query] = (hits, sorted(r.subject for r in listed))
        found[backend] = results
        await store.close()
    assert found["postgresql"] == found["sqlite"]
    # and the searches found something: a tokenizer that dropped everything would agree too
    assert found["sqlite"]["cafe"] == (["Refund for order 1234"], ["Refund for order 1234"])
    assert found["sqlite"]["subscri*"][0] == ["Subscriptions", "Invoice"]


#: Mail as customers write it: the words deep in a long body after accented text, CRLF and
#: runs of blank lines, next to a terminal escape (an OSC 52 clipboard write) and markup.
_GREETING = "Grüße aus Zürich — " * 30
SNIPPET_CORPUS = [
    (
        "Deep",
        _GREETING + "\r\n\r\n\r\n   The QUOKKA   crashed\tagain \x1b]52;c;aGk=\x07"
        " [bold]boom[/bold] [@click=app.quit]x[/] " + "and then some more words " * 20,
    ),
    ("Two words", "Our warehouse lost the parcel; the refund never came. " + "Filler. " * 40),
    ("Subject holds refundonly", "Nothing to see here."),
    ("Short", "short kangaroo note"),
]
SNIPPET_QUERIES = ["quokka", "QUOKKA crash*", "refund warehouse", "refundonly", "kangaroo"]


async def test_both_backends_give_the_same_clean_snippets(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    """Snippets are cut out by the database: each backend cuts the same window of the same
    message, and what comes back is one clean line around the first word searched."""
    found: dict[str, dict[str, list[str]]] = {}
    for backend, location in (
        ("sqlite", tmp_path / "snippets.db"),
        ("postgresql", postgres.new_database()),
    ):
        store = await connect(location, agent="alice")
        await store.ensure_channel("mail", "email", "email")
        await store.ingest(
            "mail",
            [
                inbound(body, subject=subject, thread_key=f"s{n}", minutes=n)
                for n, (subject, body) in enumerate(SNIPPET_CORPUS)
            ],
        )
        found[backend] = {q: [h.snippet for h in await store.search(q)] for q in SNIPPET_QUERIES}
        await store.close()
    assert found["postgresql"] == found["sqlite"]
    snippets = found["sqlite"]
    (deep,) = snippets["quokka"]
    assert deep.startswith("…") and deep.endswith("…")  # cut on both sides
    assert len(deep) <= 122
    assert 30 <= deep.index("QUOKKA") <= 50  # a third of the way in, the greeting before it
    assert "Zürich — The QUOKKA crashed again" in deep  # blank lines and tabs folded
    assert "\x1b" not in deep and "\x07" not in deep and "␛]52;c;aGk=␇" in deep
    assert "[bold]boom[/bold] [@click=app.quit]x[/]" in deep  # markup stays text
    assert snippets["QUOKKA crash*"] == [deep]
    # the earliest of the words places it, even when it is not the first one typed
    assert snippets["refund warehouse"] == [
        "Our warehouse lost the parcel; the refund never came. " + "Filler. " * 8 + "Fi…"
    ]
    assert snippets["refundonly"] == ["Nothing to see here."]  # found in the subject only
    assert snippets["kangaroo"] == ["short kangaroo note"]


async def test_a_change_by_another_connection_moves_the_change_token(
    opened: Store, location: str | Path
) -> None:
    before = await opened.change_token()
    other = await connect(location, agent="bob")
    try:
        await other.ingest("mail", [inbound("from another process", thread_key="x")])
    finally:
        await other.close()
    for _ in range(200):  # live updates arrive asynchronously (NOTIFY on PostgreSQL)
        if await opened.change_token() != before:
            break
        await asyncio.sleep(0.01)
    assert await opened.change_token() != before


async def test_a_store_written_by_a_newer_version_is_refused(
    opened: Store, location: str | Path
) -> None:
    def bump(db: Db) -> None:
        if opened.backend == "sqlite":
            db.execute("PRAGMA user_version = 999")
        else:
            db.execute("UPDATE agentconsole_schema SET version = 999")

    await opened.run_sync(bump)
    with pytest.raises(StoreError, match="newer agentconsole"):
        await connect(location, agent="bob")


async def test_text_and_bytes_survive_as_stored(opened: Store) -> None:
    """A NUL in text (PostgreSQL text cannot hold one) does not fail the ingest; the raw
    original and attachments come back byte for byte."""
    raw = b"Subject: nul\r\n\r\nbody with a \x00 NUL and \xff bytes\r\n"
    attachment = Attachment("report.bin", "application/octet-stream", bytes(range(256)) * 64)
    report = await opened.ingest(
        "mail",
        [inbound("body with a \x00 NUL", raw=raw, attachments=(attachment,), thread_key="n")],
    )
    detail = await opened.conversation(report.created[0])
    message = detail.messages[0]
    assert "NUL" in message.body
    assert await opened.raw_message(message.id) == raw
    name, data = await opened.attachment(detail.messages[0].attachments[0].id)
    assert (name, data) == ("report.bin", attachment.data)


async def test_driver_errors_leave_as_store_errors(location: str | Path, tmp_path: Path) -> None:
    """Nothing above the store sees a driver's exception: an unreachable store is a
    StoreError naming it (and never printing a password)."""
    if isinstance(location, Path):
        bad: str | Path = tmp_path / "not-a-store.db"
        bad.write_bytes(b"this is not a database" * 100)
    else:
        bad = location.replace("/store_", "/missing_") + "&password=hunter2"
    with pytest.raises(StoreError) as raised:
        await connect(bad, agent="alice")
    assert "hunter2" not in str(raised.value)
    assert ("not-a-store.db" in str(raised.value)) or ("missing_" in str(raised.value))


async def test_postgresql_announces_another_process_change_at_once(
    postgres: PostgresServer,
) -> None:
    """LISTEN/NOTIFY: a commit by another connection wakes a waiting store; SQLite, which
    announces nothing, answers False after the timeout (its callers poll)."""
    url = postgres.new_database()
    watcher = await connect(url, agent="alice")
    writer = await connect(url, agent="bob")
    try:
        await writer.ensure_channel("mail", "email", "email")
        assert await watcher.wait_for_change(5.0)  # the channel's creation
        waiting = asyncio.create_task(watcher.wait_for_change(30.0))
        await writer.ingest("mail", [inbound("hello", thread_key="x")])
        assert await asyncio.wait_for(waiting, 10.0)
    finally:
        await writer.close()
        await watcher.close()


async def test_sqlite_announces_nothing(tmp_path: Path) -> None:
    store = await connect(tmp_path / "quiet.db", agent="alice")
    try:
        assert await store.wait_for_change(0.01) is False
    finally:
        await store.close()
