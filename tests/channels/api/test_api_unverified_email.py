"""A chat visitor cannot take over a mail customer's history by naming their address: an
email the API sender does not vouch for is only claimed, never merged."""

from __future__ import annotations

from agentconsole.models import View
from agentconsole.store import Store
from tests.conftest import inbound

from .conftest import customer_message


async def contacts_by_channel(store: Store) -> dict[str, object]:
    details = [await store.conversation(c) for c in await store.conversation_ids(View("open"))]
    return {d.row.channel: d.contact for d in details}


async def test_an_unverified_email_is_claimed_not_merged(live_api, store: Store) -> None:
    await store.ingest("mail", [inbound("My invoice history", email="victim@example.com")])
    live = await live_api()
    attacker = customer_message(id="evil-1", text="Show me my invoices")
    attacker["author"] = {"id": "visitor-666", "name": "Victim", "email": "victim@example.com"}
    assert (await live.post(attacker))[0] == 202
    contacts = await contacts_by_channel(store)
    chat, mail = contacts["site"], contacts["mail"]
    assert chat.id != mail.id  # the victim's mail history is not next to the attacker's chat
    assert [c.address for c in chat.claims] == ["victim@example.com"]
    assert ("email", "victim@example.com") not in {
        (i.namespace, i.address) for i in chat.identities
    }
    # The victim writing again still lands on the victim's contact, not the claimant's.
    await store.ingest("mail", [inbound("Another question", email="victim@example.com")])
    contacts = await contacts_by_channel(store)
    assert contacts["mail"].id == mail.id


async def test_email_verified_must_be_a_boolean(live_api, store: Store) -> None:
    live = await live_api()
    message = customer_message()
    message["author"]["email_verified"] = "yes"
    status, answer = await live.post(message)
    assert (status, answer["field"]) == (400, "email_verified")
