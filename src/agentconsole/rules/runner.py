"""The rules' background work in the sync runner: ``schedule`` rules every minute, and the
hook commands rules queued, each run after the change that queued it was committed.

A hook gets the conversation as JSON on standard input (the shape of ``show --json``) and
``AGENTCONSOLE_RULE``, ``AGENTCONSOLE_EVENT``, ``AGENTCONSOLE_CONVERSATION_ID`` and
``AGENTCONSOLE_STORE`` in its environment (customer text is never put in a variable or a
command line). It may run ``hook_timeout`` seconds; a failure (exit status, timeout, a
command that cannot start) is logged and written in the conversation's history
(``rule.hook_failed``), and never holds up ingest or the other hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Callable

from .. import output
from ..errors import NotFoundError
from ..sanitize import one_line
from ..store import Store
from ..store.rule_hooks import HookCall

log = logging.getLogger(__name__)

#: How often schedule rules run (seconds).
SCHEDULE_INTERVAL = 60.0
#: How often queued hooks are looked for (seconds).
HOOK_POLL = 1.0
#: The part of a failing hook's standard error kept in its history.
ERROR_CHARS = 300


class RulesRunner:
    """Runs ``store``'s schedule rules and hooks. ``clock`` gives the time schedule rules
    are evaluated at (a fixed one in tests)."""

    def __init__(
        self,
        store: Store,
        *,
        hook_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        interval: float = SCHEDULE_INTERVAL,
    ) -> None:
        self.store = store
        self.hook_timeout = hook_timeout
        self.clock = clock
        self.interval = interval

    async def run_schedule(self) -> dict[str, int]:
        """Every schedule rule once, at ``clock()``; by rule, how many conversations changed."""
        return await self.store.run_schedule_rules(self.clock())

    async def run_hooks(self) -> int:
        """Run every queued hook, one after another; how many ran."""
        ran = 0
        while calls := await self.store.claim_rule_hooks():
            for call in calls:
                error = await self._run_hook(call)
                if error is not None:
                    log.warning(
                        "rule %r: hook for #%s failed: %s",
                        one_line(call.rule),
                        call.conversation_id,
                        one_line(error),
                    )
                await self.store.finish_rule_hook(call.id, error)
                ran += 1
        return ran

    async def tick(self) -> dict[str, int]:
        """One round: the schedule rules, then the hooks (what ``sync --once`` does)."""
        changed = await self.run_schedule()
        await self.run_hooks()
        return changed

    async def run_forever(self) -> None:
        """Hooks as they come, schedule rules every ``interval``; a failure is logged and
        tried again at the next beat, never ending the loop."""
        next_schedule = 0.0
        while True:
            try:
                if time.monotonic() >= next_schedule:
                    next_schedule = time.monotonic() + self.interval
                    await self.run_schedule()
                await self.run_hooks()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the store was busy: the next beat tries again
                log.warning("rules: %s", one_line(str(error)))
            await asyncio.sleep(HOOK_POLL)

    async def _run_hook(self, call: HookCall) -> str | None:
        """Run one hook; None when it succeeded, else why it failed."""
        try:
            detail = await self.store.conversation(call.conversation_id)
        except NotFoundError:
            return f"conversation {call.conversation_id} no longer exists"
        data = json.dumps(output.detail_json(detail)).encode()
        env = {
            **os.environ,
            "AGENTCONSOLE_RULE": call.rule,
            "AGENTCONSOLE_EVENT": call.event,
            "AGENTCONSOLE_CONVERSATION_ID": str(call.conversation_id),
            "AGENTCONSOLE_STORE": self.store.location,
        }
        try:
            process = await asyncio.create_subprocess_shell(
                call.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # its own process group: a timeout stops all of it
            )
        except OSError as error:
            return f"cannot start {call.command!r}: {error}"
        try:
            _, stderr = await asyncio.wait_for(process.communicate(data), self.hook_timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            return f"{call.command!r} did not finish within {self.hook_timeout:g} s (stopped)"
        if process.returncode != 0:
            said = stderr.decode("utf-8", errors="replace").strip()[:ERROR_CHARS]
            return f"{call.command!r} failed (exit {process.returncode})" + (
                f": {said}" if said else ""
            )
        return None
