"""Delivering one channel's outbox through its plugin: the send half of the sync runner.

A reply is claimed (one at a time, so only the reply being handed to the plugin is ever
"sending"), sent, and the channel's acceptance recorded as sent the moment ``send``
returns — never to be sent again. Work left after it (a Sent-folder copy) is a follow-up
recorded in the same transaction and retried on its own. A reply whose earlier attempt may
have got through is looked for with ``find_sent`` first; on a channel that cannot tell
(``resend_when_unsure = False``) a reply abandoned mid-send is marked "unknown — check the
channel" for the agent to retry. While sends fail, :attr:`ChannelSender.problem` says so
("sending failing: … — 10 replies waiting, next try in 16 s").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from .errors import AgentConsoleError
from .models import FollowUp, OutboxItem
from .plugin import (
    ChannelPlugin,
    Identity,
    OutboundMessage,
    PermanentError,
    SendResult,
    TemporaryError,
)
from .store import Store, send_health

log = logging.getLogger(__name__)

#: A reply that kept failing with temporary errors this many times is marked failed.
MAX_SEND_ATTEMPTS = 10
#: A follow-up (a Sent copy) that kept failing this many times is given up (logged).
MAX_FOLLOW_UP_ATTEMPTS = 20
#: Replies handed out per pass, one claim at a time.
SENDS_PER_PASS = 50
SEND_TIMEOUT = 120.0


def backoff(attempt: int, maximum: float, base: float = 2.0) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): 2, 4, 8 … capped."""
    return min(maximum, base ** max(1, attempt))


def unknown_delivery(channel: str, message_id: int) -> str:
    """The reason shown on a reply whose delivery cannot be known (see resend_when_unsure)."""
    return (
        f"unknown — check the channel: the process sending it stopped before {channel} "
        "confirmed it, and the channel cannot be asked; if the customer did not get it, "
        f"`agentconsole retry {message_id}` (R in the console) sends it again"
    )


class ChannelSender:
    """Sends ``plugin``'s due replies from ``store``; ``changed`` is awaited whenever
    :attr:`problem` changes (the runner shows it in the channel's health)."""

    def __init__(
        self,
        store: Store,
        plugin: ChannelPlugin,
        retry_max_seconds: float,
        changed: Callable[[], Awaitable[None]],
    ) -> None:
        self.store = store
        self.plugin = plugin
        self.retry_max_seconds = retry_max_seconds
        self._changed = changed
        #: "sending failing: …" while the channel's sends fail; None once one succeeds.
        self.problem: str | None = None

    async def send_due(self) -> None:
        """Deliver the due replies, then the due follow-ups. Raises only when the store
        cannot hand out or record work (the caller retries later)."""
        name = self.plugin.name
        for _ in range(SENDS_PER_PASS):
            items = await self.store.claim_due_replies(name, limit=1)
            if not items:
                break
            await self._deliver(items[0])
        for job in await self.store.due_followups(name):
            await self._run_follow_up(job)
        if self.problem is not None and not await self.store.waiting_replies(name):
            await self._set_problem(None)  # nothing left that failed: the warning is stale

    async def _set_problem(self, problem: str | None) -> None:
        if problem != self.problem:
            self.problem = problem
            await self._changed()

    async def _deliver(self, item: OutboxItem) -> None:
        plugin = self.plugin
        message = outbound_message(item)
        try:
            refusal = plugin.capabilities.refusal(
                plugin.name, with_attachments=bool(item.attachments)
            )
            if refusal is not None:
                raise PermanentError(refusal)
            found = (
                await asyncio.wait_for(plugin.find_sent(message), SEND_TIMEOUT)
                if item.attempts > 1 or item.uncertain
                else None
            )
            if found is None and item.uncertain and not plugin.resend_when_unsure:
                await self.store.mark_failed(
                    item.id, unknown_delivery(plugin.name, item.message_id)
                )
                return
            result = found or await asyncio.wait_for(plugin.send(message), SEND_TIMEOUT)
            if not isinstance(result, SendResult):
                raise PermanentError(
                    f"channel plugin {plugin.type_name!r} returned {result!r} from send(), "
                    "not a SendResult: the reply's delivery is unknown"
                )
        except asyncio.CancelledError:
            raise
        except PermanentError as error:
            await self.store.mark_failed(item.id, describe(error))
            return
        except Exception as error:
            if not isinstance(error, (TemporaryError, TimeoutError, OSError)):
                log.exception("channel %s: send failed", plugin.name)
            reason = describe(error)
            if item.attempts >= MAX_SEND_ATTEMPTS:
                await self.store.mark_failed(
                    item.id, f"gave up after {item.attempts} attempts: {reason}"
                )
                return
            delay = getattr(error, "retry_after", None) or backoff(
                item.attempts, self.retry_max_seconds
            )
            await self.store.mark_retry(item.id, reason, time.time() + delay)
            waiting = await self.store.waiting_replies(plugin.name)
            await self._set_problem(send_health.describe(reason, waiting, delay))
            return
        await self._record_sent(item, result)
        await self._set_problem(None)

    async def _record_sent(self, item: OutboxItem, result: SendResult) -> None:
        """The channel has the reply: record it (with its follow-up), retrying the store —
        never send it again."""
        for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
            try:
                await self.store.mark_sent(
                    item.id, result.external_id, result.url, result.follow_up
                )
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "reply %s was delivered but not recorded yet: %s",
                    item.message_id,
                    describe(error),
                )
                await asyncio.sleep(backoff(attempt, 30.0))
        # Left "sending": after its claim expires, find_sent is asked before any resend.
        log.error("reply %s was delivered but could not be recorded", item.message_id)

    async def _run_follow_up(self, job: FollowUp) -> None:
        """One follow-up (a Sent copy) of a reply already recorded as sent. A failure is
        retried later on its own; it never touches the reply's sent state."""
        plugin = self.plugin
        attempt = job.attempts + 1
        try:
            await asyncio.wait_for(
                plugin.after_send(SendResult(job.external_id, None, job.data)), SEND_TIMEOUT
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:
            reason = describe(error)
            if isinstance(error, PermanentError) or attempt >= MAX_FOLLOW_UP_ATTEMPTS:
                log.error(
                    "channel %s: reply %s was sent; its follow-up is given up after %d "
                    "attempts: %s",
                    plugin.name,
                    job.message_id,
                    attempt,
                    reason,
                )
                await self.store.finish_followup(job.outbox_id, error=reason)
                return
            delay = backoff(attempt, self.retry_max_seconds)
            log.warning(
                "channel %s: reply %s was sent; its follow-up failed (again in %.0f s): %s",
                plugin.name,
                job.message_id,
                delay,
                reason,
            )
            await self.store.finish_followup(
                job.outbox_id, error=reason, retry_at=time.time() + delay
            )
            return
        await self.store.finish_followup(job.outbox_id)


def outbound_message(item: OutboxItem) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=item.idempotency_key,
        body=item.body,
        subject=item.subject,
        thread_key=item.thread_key,
        in_reply_to=item.in_reply_to,
        references=item.references,
        recipients=tuple(Identity(r.namespace, r.address) for r in item.recipients),
        author_name=item.author_name,
        attachments=item.attachments,
        conversation_token=str(item.conversation_id),
        cc=tuple(Identity(r.namespace, r.address) for r in item.cc),
    )


def describe(error: BaseException) -> str:
    """An error as one line for a person: our own messages as they are, others with
    their type."""
    if isinstance(error, TimeoutError):
        return "timed out"
    text = str(error).strip()
    if isinstance(error, (AgentConsoleError,)) or type(error).__module__.startswith("agentconsole"):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
