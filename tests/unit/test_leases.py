"""Channel leases: exactly one process runs a channel; a dead owner on this host is
replaced at once (a reused pid is not mistaken for it), one on another host only after
its lease expired, and the replies a dead owner had claimed are released at takeover."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentconsole.models import View
from agentconsole.processes import ProcessIdentity, current, is_gone, start_of
from agentconsole.store import Store
from tests.conftest import inbound

HOUR = 3600.0


@pytest.fixture
def other_process() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def identity_of(process: subprocess.Popen[bytes]) -> ProcessIdentity:
    return ProcessIdentity(socket.gethostname(), process.pid, start_of(process.pid))


def test_this_process_is_running_and_a_killed_one_is_gone(
    other_process: subprocess.Popen[bytes],
) -> None:
    assert not is_gone(current())
    other = identity_of(other_process)
    assert other.started is not None and not is_gone(other)
    other_process.kill()
    other_process.wait()
    assert is_gone(other)


def test_a_reused_pid_is_not_mistaken_for_the_owner(
    other_process: subprocess.Popen[bytes],
) -> None:
    live = identity_of(other_process)
    assert live.started is not None
    where = live.started.rpartition(":")[0]
    # The owner had this pid once, but started at another time: that process is gone.
    assert is_gone(ProcessIdentity(live.host, live.pid, f"{where}:1"))


def test_a_process_on_another_host_or_boot_is_never_presumed_dead() -> None:
    assert not is_gone(ProcessIdentity("elsewhere.example", 999_999, None))
    me = current()
    assert me.started is not None
    assert not is_gone(ProcessIdentity(me.host, 999_999, "another-boot/1:1"))
    boot = me.started.partition("/")[0]
    container = ProcessIdentity(me.host, 999_999, f"{boot}/another-pid-namespace:1")
    assert not is_gone(container), "a container under the same name: its pids mean nothing here"


async def test_a_dead_owner_on_this_host_is_replaced_at_once(
    store: Store, other_process: subprocess.Popen[bytes]
) -> None:
    owner = identity_of(other_process)
    assert await store.acquire_lease("mail", "the-service", HOUR, owner)
    assert not await store.acquire_lease("mail", "me", HOUR), "held by a live process"
    other_process.kill()
    other_process.wait()
    assert await store.acquire_lease("mail", "me", HOUR), "its owner died: taken at once"
    [channel] = [c for c in await store.channels() if c.name == "mail"]
    assert channel.lease_owner == "me"


async def test_an_owner_on_another_host_keeps_the_lease_until_it_expires(store: Store) -> None:
    elsewhere = ProcessIdentity("elsewhere.example", 4242, None)
    assert await store.acquire_lease("mail", "remote", HOUR, elsewhere)
    assert not await store.acquire_lease("mail", "me", HOUR)
    assert await store.acquire_lease("mail", "remote", -1.0, elsewhere)  # it lapsed
    assert await store.acquire_lease("mail", "me", HOUR)


async def test_replies_a_dead_owner_claimed_are_due_at_takeover(
    store: Store, other_process: subprocess.Popen[bytes]
) -> None:
    await store.ingest("mail", [inbound(thread_key="t")], None)
    [conversation] = await store.conversation_ids(View("open"))
    await store.queue_reply(conversation, "on its way")
    assert await store.acquire_lease("mail", "the-service", HOUR, identity_of(other_process))
    [claimed] = await store.claim_due_replies("mail")
    assert await store.claim_due_replies("mail") == [], "claimed: not handed out twice"
    other_process.kill()
    other_process.wait()
    assert await store.acquire_lease("mail", "me", HOUR)
    [again] = await store.claim_due_replies("mail")
    assert again.id == claimed.id and again.uncertain, "its delivery must be checked first"


async def test_releasing_the_lease_releases_claimed_replies(store: Store) -> None:
    await store.ingest("mail", [inbound(thread_key="t")], None)
    [conversation] = await store.conversation_ids(View("open"))
    await store.queue_reply(conversation, "on its way")
    assert await store.acquire_lease("mail", "me", HOUR)
    [claimed] = await store.claim_due_replies("mail")
    await store.release_lease("mail", "me")
    assert await store.acquire_lease("mail", "next", HOUR)
    [again] = await store.claim_due_replies("mail")
    assert again.id == claimed.id and again.uncertain


async def test_the_lease_records_host_pid_and_start(store: Store, store_path: Path) -> None:
    assert await store.acquire_lease("mail", "me", HOUR)
    row = await store.run_sync(
        lambda c: c.execute(
            "SELECT lease_host, lease_pid, lease_started FROM channels WHERE name = 'mail'"
        ).fetchone()
    )
    me = current()
    assert row == (me.host, me.pid, me.started)
