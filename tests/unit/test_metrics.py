"""The support measures: backlog, first response, resolution, FCR, SLA breaches."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentconsole import config as config_module
from agentconsole.errors import ConfigError
from agentconsole.metrics import compute
from agentconsole.models import ConversationTiming
from agentconsole.timeparse import parse_duration

NOW = 1_000_000.0
HOUR = 3600.0


def row(
    channel: str,
    created: float,
    first: float | None,
    resolved: float | None,
    replies: int,
    status: str,
    waiting: float | None = None,
) -> ConversationTiming:
    return ConversationTiming(channel, "email", created, first, resolved, replies, status, waiting)


def test_measures_per_channel_and_in_total() -> None:
    rows = [
        # answered in 10 min with one reply, closed after 1 h: a first-contact resolution
        row("mail", NOW - 5 * HOUR, NOW - 5 * HOUR + 600, NOW - 4 * HOUR, 1, "closed"),
        # answered after 6 h (late for a 4 h target), two replies before closing
        row("mail", NOW - 10 * HOUR, NOW - 4 * HOUR, NOW - 2 * HOUR, 2, "closed"),
        # still waiting for a first answer after 5 h: a breach, and the oldest wait
        row("mail", NOW - 5 * HOUR, None, None, 0, "open", NOW - 5 * HOUR),
        # closed without an answer (spam): not a breach
        row("mail", NOW - 6 * HOUR, None, NOW - 5 * HOUR, 0, "closed"),
        # older than the period but still open: backlog only
        row("chat", NOW - 400 * HOUR, NOW - 399 * HOUR, None, 1, "pending"),
    ]
    chat, mail, total = compute(
        rows, since=NOW - 24 * HOUR, now=NOW, first_response_target=4 * HOUR
    )
    assert (mail.channel, mail.new, mail.backlog) == ("mail", 4, 1)
    assert mail.oldest_wait == 5 * HOUR
    assert mail.median_first_response == (600 + 6 * HOUR) / 2
    assert mail.median_resolution == 1 * HOUR  # of 1 h, 8 h and 1 h
    assert mail.first_contact_resolution == pytest.approx(1 / 3)
    assert mail.breaches == 2
    assert (chat.new, chat.backlog, chat.breaches) == (0, 1, 0)
    assert (total.channel, total.new, total.backlog, total.breaches) == ("all channels", 4, 2, 2)


def test_without_a_target_there_are_no_breaches() -> None:
    rows = [row("mail", NOW - 50 * HOUR, None, None, 0, "open", NOW - 50 * HOUR)]
    assert compute(rows, since=0, now=NOW, first_response_target=None)[0].breaches == 0


def test_durations_and_the_sla_config(tmp_path: Path) -> None:
    assert [parse_duration(t) for t in ("90", "30m", "4h", "2 days", "1w")] == [
        90,
        1800,
        14400,
        172800,
        604800,
    ]
    path = tmp_path / "c.toml"
    path.write_text('[sla]\nfirst_response = "1h"\n')
    assert config_module.load(str(path)).first_response_target == 3600
    path.write_text('[sla]\nfirst_response = "soonish"\n')
    with pytest.raises(ConfigError, match="sla.first_response"):
        config_module.load(str(path))
    path.write_text('[sla]\nfirst_respones = "1h"\n')
    with pytest.raises(ConfigError, match="did you mean 'first_response'"):
        config_module.load(str(path))
