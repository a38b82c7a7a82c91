"""Message identity on the API channel, through its real HTTP endpoint: a retried request
is stored once (with or without ``sent_at``), an ``id`` reused with other text is kept as
its own message in the same conversation, with a note."""

from __future__ import annotations

from agentconsole.models import View
from agentconsole.store import Store

from .conftest import customer_message


async def test_a_reused_id_with_other_text_is_kept_and_a_retry_is_not(
    live_api, store: Store
) -> None:
    live = await live_api()
    without_time = customer_message(id="reused", sent_at=None)
    assert (await live.post(without_time))[0] == 202
    # The client retried; the endpoint stamps a missing sent_at with the arrival time,
    # which must not make the retry look like new content.
    assert (await live.post(without_time))[0] == 202
    reused = customer_message(
        id="reused", text="Sorry, wrong order number: it is #1243.", sent_at=None
    )
    assert (await live.post(reused))[0] == 202
    assert (await live.post(reused))[0] == 202
    [conversation_id] = await store.conversation_ids(View("open"))
    messages = (await store.conversation(conversation_id)).messages
    assert [(m.external_id, m.body) for m in messages] == [
        ("reused", "Hi! My order #1234 never arrived."),
        ("reused", "Sorry, wrong order number: it is #1243."),
    ]
    assert messages[0].parse_note is None
    assert messages[1].parse_note == f"same id as message {messages[0].id}, different content"
