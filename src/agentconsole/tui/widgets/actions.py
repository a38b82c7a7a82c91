"""The conversation actions: what an agent does to the conversation in front of them —
reply, note, assign, close, reopen, snooze, tag, prioritise, retry a failed reply, link
contacts — and the reading keys (fold, the original, save an attachment).

:class:`ConversationActions` is the work column holding the queue and the desk, so its keys
apply whether the queue, the thread or the search box has focus. Each action asks what it
needs with a prompt, runs the store call in a worker and posts the outcome up
(:class:`~..messages.Notice`, :class:`~..messages.StoreChanged`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.containers import Vertical
from textual.timer import Timer

from ...errors import AgentConsoleError, ConflictError, UsageError
from ...models import PRIORITIES, Change, priority_name, priority_rank
from ...sanitize import one_line
from ..bulk import (
    CONFIRM_ABOVE,
    Undo,
    count_phrase,
    spam_undo,
    summary,
    undo_of,
    unsend_summary,
)
from ..deferred import deferred
from ..held import HeldReply
from ..keys import bindings, keys_of
from ..messages import (
    Notice,
    OpenConversation,
    ReplyQueued,
    ReplyUnsent,
    SaveViewRequested,
    Severity,
    StoreChanged,
    UndoOffered,
)
from ..safe_text import safe_text
from ..screens.prompts import ask_choice, ask_line, ask_yes
from ..services import Services
from .desk import ConversationDesk
from .queue import QueueView
from .threading_actions import ThreadingActions

#: What the assign prompt takes for "nobody".
NOBODY = ("none", "nobody", "-")


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


def tag_preview(text: str) -> Text:
    add, remove = parse_tags(text)
    preview = Text(end="")
    if add:
        preview.append("add " + " ".join("#" + one_line(t) for t in add), style="green")
    if remove:
        preview.append("  remove " + " ".join("#" + one_line(t) for t in remove), style="red")
    return preview


class ConversationActions(ThreadingActions, Vertical):
    """Attributes down: the services; messages up: :class:`Notice`, :class:`StoreChanged`."""

    BINDINGS = bindings("conversation")
    HELP_TITLE = "Conversation"

    DEFAULT_CSS = """
    ConversationActions {
        width: 1fr;
    }
    """

    def __init__(self, services: Services, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.services = services
        #: What ``u`` puts back: the last change made here (until undone or replaced).
        self.last_undo: Undo | None = None
        #: Replies waiting out their undo window, oldest first (``u`` takes the newest back,
        #: with every reply of its bulk action).
        self.held: list[HeldReply] = []
        #: Every reply of each bulk action one of whose replies is still held (those whose
        #: window just ended too: ``u`` tries them and says they left).
        self._batches: dict[int, tuple[HeldReply, ...]] = {}
        self._held_timer: Timer | None = None

    @property
    def queue(self) -> QueueView:
        return self.query_one(QueueView)

    @property
    def desk(self) -> ConversationDesk:
        return self.query_one(ConversationDesk)

    @property
    def target_id(self) -> int | None:
        """The conversation actions apply to: the one being composed, else the cursor's."""
        composer = self.desk.composer
        if composer.is_open and composer.conversation_id is not None:
            return composer.conversation_id
        return self.queue.current_id

    def _need_target(self) -> int | None:
        target = self.target_id
        if target is None:
            self.post_message(Notice("No conversation selected.", "warning"))
        return target

    def _act(
        self,
        operation: Callable[[], Awaitable[Any]],
        done: str,
        *,
        on_conflict: Callable[[ConflictError], None] | None = None,
    ) -> None:
        """Run a store operation in a worker; its outcome is posted up."""

        async def run() -> None:
            try:
                await operation()
            except ConflictError as error:
                if on_conflict is not None:
                    on_conflict(error)
                else:
                    self.post_message(Notice(str(error), "warning"))
                return
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
                return
            self.post_message(Notice(done))
            self.post_message(StoreChanged(self.desk.pane.conversation_id))

        self.run_worker(run(), group="actions", exit_on_error=False)

    # -- composing and reading (the desk does them) ------------------------------------------

    def action_reply(self) -> None:
        """Reply to the conversation in front; with conversations marked, send a saved
        reply to each of them (one filled in for each)."""
        if self.queue.marked and not self.desk.composer.is_open:
            self._saved_reply_to_marked(self.queue.marked)
        elif (target := self._need_target()) is not None:
            self._reply_to(target, lambda: self.desk.start(target, "reply"))

    def _saved_reply_to_marked(self, targets: list[int]) -> None:
        from ...replies import Agent, load_library
        from ..bulk_reply import AFTER, send_to_each
        from .reply_picker import PickedReply, ReplyPicker

        services = self.services
        config = services.config

        def chosen(picked: PickedReply | None) -> None:
            if picked is None:
                return
            question = Text.assemble(
                "Send ",
                safe_text(picked.reply.title or picked.reply.name, "bold", multiline=False),
                f" to {count_phrase(len(targets))}, filled in for each, then…",
            )
            held = [t for t in targets if self._assignee_of(t) not in (None, config.agent)]
            if held:  # asked, as a reply to a colleague's conversation is
                question.append(
                    f"\n{len(held)} of them {'is' if len(held) == 1 else 'are'} assigned to"
                    " a colleague (and stay theirs)",
                    style="yellow",
                )
            ask_choice(self, question, list(AFTER), lambda after: send(picked, AFTER[after]))

        async def send(picked: PickedReply, then: str | None) -> None:
            outcome = await send_to_each(services, targets, picked.reply, then)
            if outcome.refused:
                shown = "; ".join(outcome.refused[:3])
                more = f" (and {len(outcome.refused) - 3} more)" if len(outcome.refused) > 3 else ""
                self.post_message(Notice(f"Nothing was sent: {shown}{more}", "error"))
                return
            batch = min(outcome.queued.values(), default=None)  # u takes them back together
            for conversation_id, message_id in outcome.queued.items():
                row = self.queue.row(conversation_id)
                channel = row.channel if row else None
                self.post_message(
                    ReplyQueued(
                        conversation_id,
                        message_id,
                        channel,
                        config.undo_seconds,
                        advance=False,
                        quiet=True,
                        batch=batch,
                    )
                )
                if config.undo_seconds <= 0 and channel:
                    services.channels.nudge(channel)
            self.queue.clear_marks()
            done = f"{picked.reply.name} sent to {count_phrase(len(outcome.queued))}"
            if outcome.failed:
                done += "; not sent: " + "; ".join(outcome.failed)
            self.post_message(Notice(done, "warning" if outcome.failed else "information"))

        async def pick() -> None:
            try:
                detail = await services.store.conversation(targets[0])
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
                return
            library = await asyncio.to_thread(load_library, config.reply_folders)
            agent = Agent(config.agent, config.display_name)
            what = f"Send a saved reply to {count_phrase(len(targets))}"
            self.post_message(
                ReplyPicker.Requested(library, detail, agent, config.reply_folders, chosen, what)
            )

        self.run_worker(pick(), group="actions", exit_on_error=False)

    def _reply_to(self, target: int, start: Callable[[], None]) -> None:
        """Open the reply at once, or — on a conversation another agent holds — after the
        agent said yes (nobody answers a colleague's customer without knowing it)."""
        holder = self._assignee_of(target)
        if holder is None or holder == self.services.config.agent or self.desk.composer.is_open:
            start()
            return
        question = Text.assemble(
            f"#{target} is assigned to ",
            safe_text(holder, "bold", multiline=False),
            ".\n\nReply anyway?",
        )
        ask_yes(self, question, start)

    def _assignee_of(self, target: int) -> str | None:
        detail = self.desk.pane.detail
        if detail is not None and detail.row.id == target:
            return detail.row.assignee
        row = self.queue.row(target)
        return row.assignee if row is not None else None

    def action_note(self) -> None:
        if (target := self._need_target()) is not None:
            self.desk.start(target, "note")

    def action_editor(self) -> None:
        if self.desk.composer.is_open:
            self.desk.edit_in_editor()
        elif (target := self._need_target()) is not None:
            self._reply_to(
                target, lambda: self.desk.start(target, "reply", then=self.desk.edit_in_editor)
            )

    def action_toggle_quotes(self) -> None:
        pane = self.desk.pane
        self.run_worker(
            deferred(pane.toggle_fold), group="detail", exclusive=True, exit_on_error=False
        )

    def action_view_source(self) -> None:
        self.run_worker(self.desk.pane.view_source(), group="source", exit_on_error=False)

    def action_save_attachment(self) -> None:
        self.desk.pane.save_attachment()

    # -- store actions ------------------------------------------------------------------------

    def _targets(self) -> list[int]:
        """What an action applies to: the marked conversations, else the one in front."""
        marked = self.queue.marked
        if marked:
            return marked
        target = self._need_target()
        return [] if target is None else [target]

    @staticmethod
    def _naming(targets: list[int]) -> str:
        return f"#{targets[0]}" if len(targets) == 1 else count_phrase(len(targets))

    def _change(
        self, targets: list[int], change: Change, verb: str, done: str, *, confirmed: bool = False
    ) -> None:
        """``change`` on ``targets`` through ``Store.apply`` (asked first above
        :data:`CONFIRM_ABOVE`); what it did is said in one line and ``u`` undoes it."""
        if not targets:
            return
        if len(targets) > CONFIRM_ABOVE and not confirmed:
            question = Text(f"{verb} {count_phrase(len(targets))}?", style="bold")
            ask_yes(
                self,
                question,
                lambda: self._change(targets, change, verb, done, confirmed=True),
            )
            return
        store = self.services.store
        bulk = bool(self.queue.marked)

        async def run() -> None:
            # The cursor keeps its place when its own row is acted on (the next piece of
            # work comes under it), whichever reload — this one's or the live poll's — shows
            # the change; rows changed elsewhere leave it on its conversation.
            acted_on_current = self.queue.current_id in targets
            if acted_on_current:
                self.queue.hold_position()
            try:
                outcomes = await store.apply(targets, change)
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
                return
            held = [o for o in outcomes if o.exit_code == 4]
            if change.kind == "assign" and len(outcomes) == 1 and held and not change.force:
                self._ask_take_over(held[0].error or "", targets, change, verb, done)
                return
            undo = undo_of(outcomes, verb)
            if undo is not None:
                self.last_undo = undo
            if bulk:
                self.queue.clear_marks()
            changed = any(o.changed for o in outcomes)
            severity: Severity = "information" if changed else "warning"
            self.post_message(Notice(summary(outcomes, done), severity))
            pane = self.desk.pane.conversation_id
            self.post_message(StoreChanged(pane, keep_position=acted_on_current))

        self.run_worker(run(), group="actions", exit_on_error=False)

    def _ask_take_over(
        self, reason: str, targets: list[int], change: Change, verb: str, done: str
    ) -> None:
        forced = replace(change, force=True)
        question = Text.assemble(safe_text(reason, multiline=False), "\n\nTake it over?")
        ask_yes(self, question, lambda: self._change(targets, forced, verb, done, confirmed=True))

    def action_assign_me(self) -> None:
        agent = self.services.config.agent
        change = Change("assign", assignee=agent)
        self._change(self._targets(), change, "assign to you", "assigned to you")

    def action_assign_to(self) -> None:
        """Assign to a colleague picked from the agents the store knows (typed filter)."""
        from ..screens.agent_picker import AgentPickerScreen

        targets = self._targets()
        if not targets:
            return
        store = self.services.store
        current = self._assignee_of(targets[0]) if len(targets) == 1 else None

        def assign(name: str | None) -> None:
            if name is None:
                return
            if name.lower() in ("", *NOBODY):
                self.action_unassign(targets)
                return
            shown = one_line(name)
            change = Change("assign", assignee=name)
            self._change(targets, change, f"assign to {shown}", f"assigned to {shown}")

        async def pick() -> None:
            try:
                agents = await store.known_agents()
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
                return
            question = Text(f"Assign {self._naming(targets)} to…", style="bold")
            self.app.push_screen(AgentPickerScreen(question, agents, current), assign)

        self.run_worker(pick(), group="actions", exit_on_error=False)

    def action_unassign(self, targets: list[int] | None = None) -> None:
        targets = targets if targets is not None else self._targets()
        self._change(targets, Change("assign"), "unassign", "unassigned")

    def action_close_conversation(self) -> None:
        self._change(self._targets(), Change("status", status="closed"), "close", "closed")

    def action_reopen(self) -> None:
        self._change(self._targets(), Change("status", status="open"), "reopen", "reopened")

    def action_pending(self) -> None:
        change = Change("status", status="pending")
        self._change(self._targets(), change, "set pending", "pending")

    def action_spam(self, confirmed: bool = False) -> None:
        """Mark the marked conversations (else the one in front) spam — out of every queue
        view into Spam, each sender blocked on its channel. When every one is spam already
        (in the Spam view) it is "not spam": back in the queue, the sender unblocked."""
        targets = self._targets()
        if not targets:
            return
        if len(targets) > CONFIRM_ABOVE and not confirmed:
            question = Text(f"Spam / not spam: {count_phrase(len(targets))}?", style="bold")
            ask_yes(self, question, lambda: self.action_spam(confirmed=True))
            return
        store = self.services.store
        bulk = bool(self.queue.marked)

        async def run() -> None:
            acted_on_current = self.queue.current_id in targets
            if acted_on_current:
                self.queue.hold_position()
            try:
                spam = True
                changed = await store.set_spam(targets, True)
                if not changed:  # all spam already: the same key says "not spam"
                    spam = False
                    changed = await store.set_spam(targets, False)
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
                return
            undo = spam_undo(changed, spam)
            if undo is not None:
                self.last_undo = undo
            if bulk:
                self.queue.clear_marks()
            done = "marked spam, sender blocked" if spam else "not spam, back in the queue"
            if len(targets) == 1:
                line = f"#{targets[0]} {done}" if changed else f"#{targets[0]}: gone"
            else:
                line = f"{count_phrase(len(changed))} {done}"
                if len(changed) < len(targets):  # "not spam" only runs when all were spam
                    why = "already spam" if spam else "gone"
                    line += f", {len(targets) - len(changed)} {why}"
            severity: Severity = "information" if changed else "warning"
            self.post_message(Notice(line, severity))
            pane = self.desk.pane.conversation_id
            self.post_message(StoreChanged(pane, keep_position=acted_on_current))

        self.run_worker(run(), group="actions", exit_on_error=False)

    def action_undo(self) -> None:
        """Take back the newest reply still in its undo window (with every reply of its
        bulk action), else undo the last change."""
        if self.held:
            newest = self.held.pop()
            if newest.batch is None:
                self._unsend(newest)
                return
            members = self._batches.pop(newest.batch, (newest,))
            self.held = [held for held in self.held if held.batch != newest.batch]
            self._unsend_batch(members)
            return
        undo = self.last_undo
        if undo is None:
            self.post_message(Notice("Nothing to undo.", "warning"))
            return
        self.last_undo = None
        store = self.services.store

        async def run() -> None:
            try:
                if undo.change_id is not None:
                    change = await store.undo_threading(undo.change_id)
                    restored = [change.source_id, change.target_id]
                elif undo.spam_ids:
                    restored = await store.set_spam(undo.spam_ids, undo.spam_before)
                else:
                    restored = await store.restore(undo.states)
            except AgentConsoleError as error:
                self.last_undo = undo
                self.post_message(Notice(str(error), "error"))
                return
            self.post_message(Notice(f"Undone: {undo.label} ({count_phrase(len(restored))})"))
            self.post_message(StoreChanged(self.desk.pane.conversation_id))

        self.run_worker(run(), group="actions", exit_on_error=False)

    # -- undo send ----------------------------------------------------------------------------

    @on(ReplyQueued)
    def _reply_queued(self, event: ReplyQueued) -> None:
        """Offer to take the reply back until its window ends (the screen handles the rest
        of the message)."""
        if event.undo_seconds <= 0:
            return
        held = HeldReply.starting(
            event.message_id, event.conversation_id, event.channel, event.undo_seconds, event.batch
        )
        self.held.append(held)
        if held.batch is not None:
            self._batches[held.batch] = (*self._batches.get(held.batch, ()), held)
        if self._held_timer is None:
            self._held_timer = self.set_interval(HeldReply.TICK, self._tick_held)
        self.post_message(UndoOffered())

    def _tick_held(self) -> None:
        """Each tick: replies whose window ended are nudged out at once (their channel's
        sender sends them now, not at its next poll); the status line counts down."""
        left = [held for held in self.held if not held.over()]
        for held in self.held:
            if held.over() and held.channel:
                self.services.channels.nudge(held.channel)
        self.held = left
        live = {held.batch for held in left}
        self._batches = {b: members for b, members in self._batches.items() if b in live}
        if not left and self._held_timer is not None:
            self._held_timer.stop()
            self._held_timer = None
        self.post_message(UndoOffered())

    def _unsend(self, held: HeldReply) -> None:
        store = self.services.store

        async def run() -> None:
            try:
                unsent = await store.unsend(held.message_id)
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
                self.post_message(UndoOffered())
                return
            note = "Reply taken back — nothing was sent; it is your draft again."
            if unsent.attachment_names:
                names = ", ".join(one_line(name) for name in unsent.attachment_names)
                note += f" Attach again: {names}"
            self.post_message(Notice(note))
            self.post_message(UndoOffered())
            self.post_message(ReplyUnsent(held.conversation_id))

        self.run_worker(run(), group="actions", exit_on_error=False)

    def held_with(self, held: HeldReply) -> int:
        """How many replies ``u`` takes back with ``held`` (those of its bulk action still
        in their window; 1 for a reply on its own)."""
        if held.batch is None:
            return 1
        return sum(1 for other in self.held if other.batch == held.batch)

    def _unsend_batch(self, members: tuple[HeldReply, ...]) -> None:
        """Take back every reply of a bulk action; say how many, and which had left."""
        store = self.services.store
        conversation_of = {held.message_id: held.conversation_id for held in members}

        async def run() -> None:
            try:
                report = await store.unsend_each(list(conversation_of))
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
                self.post_message(UndoOffered())
                return
            line = unsend_summary(report, conversation_of)
            self.post_message(Notice(line, "warning" if report.refused else "information"))
            self.post_message(UndoOffered())
            self.post_message(StoreChanged(self.desk.pane.conversation_id))

        self.run_worker(run(), group="actions", exit_on_error=False)

    # -- the audit log and the contact's other conversations ---------------------------------

    def action_audit(self) -> None:
        from ..screens.audit import AuditScreen

        target = self._need_target()
        if target is None:
            return
        services = self.services

        async def show() -> None:
            try:
                entries = await services.store.audit_log(target)
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
                return
            self.app.push_screen(AuditScreen(target, entries, services.clock()))

        self.run_worker(show(), group="actions", exit_on_error=False)

    def action_contact_conversations(self) -> None:
        """Pick one of the contact's other conversations (every channel) and open it."""
        detail = self.desk.pane.detail
        if detail is None:
            self.post_message(Notice("Open a conversation first.", "warning"))
            return
        others = detail.other_conversations
        if not others:
            self.post_message(Notice("This contact has no other conversation.", "warning"))
            return
        labels = [
            f"#{row.id} {row.status:<7} {one_line(row.channel)}: {one_line(row.subject)[:50]}"
            for row in others
        ]

        def open_it(label: str) -> None:
            self.post_message(OpenConversation(others[labels.index(label)].id))

        name = one_line(detail.contact.name or detail.row.contact_name) or "this contact"
        ask_choice(self, Text(f"Other conversations of {name}", style="bold"), labels, open_it)

    def action_snooze(self) -> None:
        targets = self._targets()
        if not targets:
            return
        services = self.services

        def when(text: str) -> datetime:
            from ...timeparse import parse_when

            return parse_when(text, datetime.fromtimestamp(services.clock()).astimezone())

        def snooze(value: str) -> None:
            until = when(value)  # checked already: the prompt only accepts valid times
            change = Change("status", status="snoozed", snooze_until=until.timestamp())
            self._change(targets, change, "snooze", f"snoozed until {until:%a %d %b %H:%M}")

        ask_line(
            self,
            Text(f"Snooze {self._naming(targets)} until…"),
            snooze,
            placeholder="tomorrow 9am, in 2h, mon",
            check=lambda text: Text(f"→ {when(text):%a %d %b %H:%M}", style="green"),
        )

    def action_tag(self) -> None:
        targets = self._targets()
        if not targets:
            return

        def retag(value: str) -> None:
            add, remove = parse_tags(value)
            change = Change("tags", add=tuple(add), remove=tuple(remove))
            self._change(targets, change, "tag", "tagged")

        question = Text(f"Tags for {self._naming(targets)}")
        ask_line(self, question, retag, placeholder="+billing -vip", check=tag_preview)

    def action_priority(self) -> None:
        targets = self._targets()
        if not targets:
            return
        row = self.queue.row(targets[0]) if len(targets) == 1 else None

        def prioritise(value: str) -> None:
            change = Change("priority", rank=priority_rank(value))
            self._change(targets, change, f"set priority {value} on", f"priority {value}")

        current = priority_name(row.priority) if row else None
        question = Text(f"Priority of {self._naming(targets)}")
        ask_choice(self, question, PRIORITIES, prioritise, current)

    def action_save_view(self) -> None:
        self.post_message(SaveViewRequested())

    def action_retry(self) -> None:
        detail = self.desk.pane.detail
        if detail is None or detail.row.id != self.target_id:
            self.post_message(Notice("Open the conversation first.", "warning"))
            return
        failed = [m for m in detail.messages if m.direction == "out" and m.state == "failed"]
        if not failed:
            self.post_message(Notice("No failed reply in this conversation.", "warning"))
            return
        services, message_id, channel = self.services, failed[-1].id, detail.row.channel

        async def retry() -> None:
            await services.store.requeue_reply(message_id)
            services.channels.nudge(channel)

        self._act(retry, "Reply queued again")

    def action_link_contact(self) -> None:
        """Link this conversation's contact with another known by an address or id (the
        same person on another channel); undone with unlink_contact."""
        detail = self.desk.pane.detail
        if detail is None:
            self.post_message(Notice("Open a conversation first.", "warning"))
            return
        store, keep, name = self.services.store, detail.contact.id, detail.contact.name

        def check(value: str) -> Text:
            if not value.strip():
                raise UsageError("type an email address, a handle or a contact #id")
            undo = keys_of(self, "unlink_contact")
            return Text(f"enter links them; {undo} undoes it", style="dim")

        def link(value: str) -> None:
            async def run() -> None:
                found = [c for c in await store.find_contacts(value) if c.id != keep]
                if not found:
                    raise UsageError(f"no other contact is known as {value.strip()!r}")
                await store.link_contacts(keep, found[0].id)

            self._act(run, f"Linked: {one_line(value)} is {one_line(name)}")

        question = Text.assemble("Same person as ", ("(email, handle or #id)", "dim"))
        # An address the contact claimed without proof is offered: enter links it.
        claimed = detail.contact.claims[0].address if detail.contact.claims else ""
        ask_line(self, question, link, value=claimed, check=check)

    def action_unlink_contact(self) -> None:
        detail = self.desk.pane.detail
        if detail is None:
            self.post_message(Notice("Open a conversation first.", "warning"))
            return
        store, keep = self.services.store, detail.contact.id
        self._act(lambda: store.unlink_last_merge(keep), "The last link was undone")
