"""The messages of a UID FETCH read by our narrow reader are exactly what imapclient reads,
from a real Dovecot, whatever the messages contain."""

from __future__ import annotations

from datetime import UTC, datetime

from agentconsole_email.imap_bodies import fetch_bodies
from tests.channels.email.helpers import mail
from tests.integration.conftest import ImapUser

AWKWARD = [
    mail("Plain"),
    # Lines that look like the end of a FETCH answer, a literal and a tagged reply.
    mail("Protocol lookalikes", ")\r\n* 9 FETCH (UID 9 BODY[] {3}\r\nA1 OK done\r\n)"),
    "Subject: 8-bit \xe9t\xe9\r\n\r\nBody \xff\xfe\r\n".encode("latin-1"),
    b"no header block at all, and no line end",
    mail("Big", "x" * 200_000),
]


def test_fetched_messages_are_the_ones_imapclient_reads(imap_user: ImapUser) -> None:
    for raw in AWKWARD:
        imap_user.append(raw)
    client = imap_user.client()
    try:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
        theirs = client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
        ours = fetch_bodies(client, [*uids, max(uids) + 50])  # one UID that is not there
    finally:
        client.logout()
    assert sorted(ours) == uids
    for uid in uids:
        raw, internal_date = ours[uid]
        assert raw == theirs[uid][b"BODY[]"]
        assert internal_date == theirs[uid][b"INTERNALDATE"].astimezone(UTC)
        assert internal_date is not None and abs(internal_date - datetime.now(UTC)).days < 1
    assert [ours[uid][0].replace(b"\r\n", b"\n") for uid in uids] == [
        raw.replace(b"\r\n", b"\n") for raw in AWKWARD
    ]
