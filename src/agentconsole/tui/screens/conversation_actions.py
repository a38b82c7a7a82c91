"""What an agent does to the conversation in front of them: assign, close, reopen, snooze,
tag, prioritise, retry a failed reply, link contacts, fold quotes, save attachments.

A mixin of :class:`~.main.MainScreen` (Textual finds ``action_*`` methods on the screen);
each action asks what it needs with a prompt and runs the store call in a worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text

from ...errors import AgentConsoleError, ConflictError, UsageError
from ...models import PRIORITIES, priority_name, priority_rank
from ...sanitize import one_line
from ..safe_text import safe_text
from .prompts import ChoiceScreen, ConfirmScreen, PromptScreen


def parse_tags(text: str) -> tuple[list[str], list[str]]:
    """``"+billing -vip urgent"`` → (["billing", "urgent"], ["vip"])."""
    add: list[str] = []
    remove: list[str] = []
    for word in text.replace(",", " ").split():
        if word.startswith("-") and len(word) > 1:
            remove.append(word[1:])
        elif word.startswith("+") and len(word) > 1:
            add.append(word[1:])
        elif word not in "+-":
            add.append(word)
    if not add and not remove:
        raise UsageError("type tags to add (billing or +billing) or remove (-vip)")
    return add, remove


class ConversationActions:
    """The conversation actions of the main screen (mixed into :class:`MainScreen`)."""

    @property
    def target_id(self) -> int | None:
        """The conversation actions apply to: the one being composed, else the cursor's."""
        if self.composer.is_open and self.composer.conversation_id is not None:
            return self.composer.conversation_id
        return self.queue.current_id

    def _act(
        self,
        operation: Callable[[], Awaitable[Any]],
        done: str | None = None,
        *,
        on_conflict: Callable[[ConflictError], None] | None = None,
    ) -> None:
        """Run a store operation in a worker; errors become notifications."""

        async def run() -> None:
            try:
                await operation()
            except ConflictError as error:
                if on_conflict is not None:
                    on_conflict(error)
                else:
                    self.console_app.report(str(error), severity="warning")
                return
            except AgentConsoleError as error:
                self.console_app.report(str(error), severity="error")
                return
            if done:
                self.console_app.report(done)
            await self._reload(False)

        self.run_worker(run(), group="actions", exit_on_error=False)

    def _need_target(self) -> int | None:
        target = self.target_id
        if target is None:
            self.console_app.report("No conversation selected.", severity="warning")
        return target

    def action_assign_me(self) -> None:
        target = self._need_target()
        if target is None:
            return
        store, agent = self.console_app.store, self.console_app.config.agent

        def take_over(error: ConflictError) -> None:
            def answered(yes: bool | None) -> None:
                if yes:
                    self._act(
                        lambda: store.assign(target, agent, force=True), f"#{target} taken over"
                    )

            question = Text.assemble(safe_text(str(error), multiline=False), "\n\nTake it over?")
            self.app.push_screen(ConfirmScreen(question), answered)

        self._act(
            lambda: store.assign(target, agent), f"#{target} assigned to you", on_conflict=take_over
        )

    def action_close_conversation(self) -> None:
        target = self._need_target()
        if target is not None:
            store = self.console_app.store
            self._act(lambda: store.set_status(target, "closed"), f"#{target} closed")

    def action_reopen(self) -> None:
        target = self._need_target()
        if target is not None:
            store = self.console_app.store
            self._act(lambda: store.set_status(target, "open"), f"#{target} reopened")

    def action_snooze(self) -> None:
        target = self._need_target()
        if target is None:
            return
        app = self.console_app

        def when(text: str) -> datetime:
            from ...timeparse import parse_when

            now = datetime.fromtimestamp(app.clock()).astimezone()
            return parse_when(text, now)

        def check(text: str) -> Text:
            return Text(f"→ {when(text):%a %d %b %H:%M}", style="green")

        def answered(value: str | None) -> None:
            if value is None:
                return
            try:
                until = when(value)
            except AgentConsoleError as error:
                app.report(str(error), severity="error")
                return
            self._act(
                lambda: app.store.set_status(target, "snoozed", snooze_until=until.timestamp()),
                f"#{target} snoozed until {until:%a %d %b %H:%M}",
            )

        self.app.push_screen(
            PromptScreen(
                Text(f"Snooze #{target} until…"),
                placeholder="tomorrow 9am, in 2h, mon",
                check=check,
            ),
            answered,
        )

    def action_tag(self) -> None:
        target = self._need_target()
        if target is None:
            return
        store = self.console_app.store

        def answered(value: str | None) -> None:
            if value is None:
                return
            add, remove = parse_tags(value)
            self._act(lambda: store.retag(target, add, remove), f"#{target} tagged")

        def check(value: str) -> Text:
            add, remove = parse_tags(value)
            text = Text(end="")
            if add:
                text.append("add " + " ".join("#" + one_line(t) for t in add), style="green")
            if remove:
                text.append("  remove " + " ".join("#" + one_line(t) for t in remove), style="red")
            return text

        self.app.push_screen(
            PromptScreen(Text(f"Tags for #{target}"), placeholder="+billing -vip", check=check),
            answered,
        )

    def action_priority(self) -> None:
        target = self._need_target()
        if target is None:
            return
        store = self.console_app.store
        row = self.queue.row(target)
        current = priority_name(row.priority) if row else None

        def answered(value: str | None) -> None:
            if value is not None:
                rank = priority_rank(value)
                self._act(lambda: store.set_priority(target, rank), f"#{target} priority {value}")

        self.app.push_screen(
            ChoiceScreen(Text(f"Priority of #{target}"), PRIORITIES, current), answered
        )

    def action_retry(self) -> None:
        detail = self.pane.detail
        if detail is None or detail.row.id != self.target_id:
            self.console_app.report("Open the conversation first.", severity="warning")
            return
        failed = [m for m in detail.messages if m.direction == "out" and m.state == "failed"]
        if not failed:
            self.console_app.report("No failed reply in this conversation.", severity="warning")
            return
        app = self.console_app
        message_id, channel = failed[-1].id, detail.row.channel

        async def retry() -> None:
            await app.store.requeue_reply(message_id)
            app.nudge(channel)

        self._act(retry, "Reply queued again")

    def action_link_contact(self) -> None:
        """Link this conversation's contact with another known by an address or id (the
        same person on another channel); undone with unlink_contact."""
        detail = self.pane.detail
        if detail is None:
            self.console_app.report("Open a conversation first.", severity="warning")
            return
        app = self.console_app
        keep = detail.contact.id

        def check(value: str) -> Text:
            if not value.strip():
                raise UsageError("type an email address, a handle or a contact #id")
            return Text("enter links them; U undoes it", style="dim")

        def answered(value: str | None) -> None:
            if value is None:
                return

            async def link() -> None:
                found = [c for c in await app.store.find_contacts(value) if c.id != keep]
                if not found:
                    raise UsageError(f"no other contact is known as {value.strip()!r}")
                await app.store.link_contacts(keep, found[0].id)

            self._act(link, f"Linked: {one_line(value)} is {one_line(detail.contact.name)}")

        app.push_screen(
            PromptScreen(
                Text.assemble("Same person as ", ("(email, handle or #id)", "dim")), check=check
            ),
            answered,
        )

    def action_unlink_contact(self) -> None:
        detail = self.pane.detail
        if detail is None:
            self.console_app.report("Open a conversation first.", severity="warning")
            return
        store = self.console_app.store
        keep = detail.contact.id
        self._act(lambda: store.unlink_last_merge(keep), "The last link was undone")

    def action_toggle_quotes(self) -> None:
        async def toggle() -> None:
            folded = await self.pane.toggle_quotes()
            self.console_app.report("Quoted text folded" if folded else "Quoted text shown")

        self.run_worker(toggle(), group="detail", exclusive=True, exit_on_error=False)

    def action_save_attachment(self) -> None:
        """Save an attachment under a name the agent confirms (the message's file name is
        only a cleaned suggestion, never a path)."""
        from ...attachments import download_dir, save, suggested_name

        detail = self.pane.detail
        found = [a for m in (detail.messages if detail else ()) for a in m.attachments]
        if not found:
            self.console_app.report("No attachments in this conversation.", severity="warning")
            return
        app = self.console_app
        labels = [f"{n}. {one_line(a.filename) or '(unnamed)'}" for n, a in enumerate(found, 1)]

        def ask_path(choice: str | None) -> None:
            if choice is None:
                return
            attachment = found[labels.index(choice)]
            suggestion = str(download_dir() / suggested_name(attachment.filename))

            def check(value: str) -> Text:
                path = Path(value.strip()).expanduser()
                if not value.strip():
                    raise UsageError("give a file name")
                if path.exists():
                    raise UsageError(f"{path} exists: choose another name")
                return Text(f"will write {attachment.size} bytes to {path}", style="dim")

            def answered(value: str | None) -> None:
                if value is None:
                    return

                async def write() -> None:
                    _, data = await app.store.attachment(attachment.id)
                    await asyncio.to_thread(save, data, value.strip())

                self._act(write, f"Saved {value.strip()}")

            app.push_screen(
                PromptScreen(Text("Save attachment as"), value=suggestion, check=check),
                answered,
            )

        if len(found) == 1:
            ask_path(labels[0])
        else:
            app.push_screen(ChoiceScreen(Text("Which attachment?"), labels), ask_path)
