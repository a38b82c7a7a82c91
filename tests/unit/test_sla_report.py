"""`agentconsole report` counts SLA breaches per policy and channel, in business time."""

from __future__ import annotations

import json
from pathlib import Path

from agentconsole.plugin import Author, Identity, InboundMessage
from agentconsole.store import Store
from tests.conftest import inbound
from tests.unit.test_cli import run

CONFIG = """
[business_hours]
timezone = "UTC"
week = { mon = "09:00-17:00", tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-17:00" }

[[sla]]
name = "urgent"
if = "priority:urgent"
first_response = "1h"
business_hours = false

[[sla]]
name = "standard"
first_response = "2h"
"""


def answer(to: InboundMessage, minutes: float) -> InboundMessage:
    """Our reply to ``to`` as the channel saw it (a Sent folder), ``minutes`` after 09:00 on
    Friday 20 November 2026."""
    return inbound(
        "Thanks, on it.",
        name="Support",
        email="support@acme.example",
        minutes=minutes,
        references=(to.external_id,),
        from_agent=True,
    )


async def test_breaches_per_policy_and_channel_in_business_time(
    store: Store, store_location: str | Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    # Friday 16:00: one business hour left that day, the second on Monday 09:00-10:00.
    friday = inbound("Invoice?", email="a@example.com", minutes=7 * 60)
    # Answered Monday 09:30: 66 wall hours later, 1.5 business hours: within 2h.
    await store.ingest("mail", [friday, answer(friday, 3 * 24 * 60 + 30)])
    # Friday 09:00, answered at 12:00: three business hours, late.
    late = inbound("Refund?", email="b@example.com")
    await store.ingest("mail", [late, answer(late, 3 * 60)])
    # A chat nobody answered: long past due.
    chat = InboundMessage(
        external_id="c-1",
        author=Author("Cy", (Identity("chat", "cy"),)),
        body="hello?",
        sent_at=friday.sent_at,
        thread_key="room",
    )
    (chat_id,) = (await store.ingest("chat", [chat])).created
    assert await store.set_priority(chat_id, 0)
    # Opening the store with the config computes the due times of what was there before.
    result = run(store_location, "report", "--since", "400d", "--json", config=config)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    per_channel = {line["channel"]: line for line in lines if "policy" not in line}
    assert per_channel["mail"]["sla_breaches"] == 1
    assert per_channel["chat"]["sla_breaches"] == 1
    assert per_channel["all channels"]["sla_breaches"] == 2
    per_policy = {(line["policy"], line["channel"]): line for line in lines if "policy" in line}
    assert list(per_policy) == [
        ("urgent", "chat"),
        ("urgent", "all channels"),
        ("standard", "mail"),
        ("standard", "all channels"),
    ]
    standard = per_policy[("standard", "mail")]
    assert (standard["conversations"], standard["sla_breaches"]) == (2, 1)
    assert standard["business_hours"] is True
    # Median of 1.5 h and 3 h of business time (not the 66 wall hours of the first).
    assert standard["median_first_response_seconds"] == 2.25 * 3600
    urgent = per_policy[("urgent", "chat")]
    assert (urgent["conversations"], urgent["sla_breaches"]) == (1, 1)
    text = run(store_location, "report", "--since", "400d", config=config).stdout
    assert "SLA policy" in text and "business hours" in text
