"""The desk: the open conversation with the composer under it.

It loads the conversation the screen asks for, opens the composer on a reply or a note
(with the customer's last message quoted and the draft restored), keeps drafts as the agent
types, and sends. A reply another agent sent after this composer opened is a collision: the
agent is asked before anything goes out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer

from ...errors import AgentConsoleError, ConflictError, NotFoundError, UsageError
from ...models import ConversationDetail
from ...sanitize import one_line
from ..deferred import deferred
from ..external import edit_text
from ..messages import Notice, ReplyQueued, StoreChanged
from ..safe_text import safe_text
from ..screens.prompts import ask_line, ask_yes
from ..services import Services
from ..thread_text import last_customer_message, quoted
from .composer import Composer
from .conversation import ConversationPane

#: How long after the last key press a draft is written to the store.
DRAFT_DELAY = 0.8


def read_only_notice(detail: ConversationDetail) -> Text:
    text = Text("This channel is read-only — ", style="bold", end="")
    if detail.url:
        text.append("open on the site: ")
        text.append_text(safe_text(detail.url, "underline", multiline=False))
    else:
        text.append("answer on the site itself.")
    return text


class ConversationDesk(Vertical):
    """Attributes down: :meth:`load`, :meth:`start`, :meth:`edit_in_editor`,
    :meth:`keep_draft`; messages up: :class:`Notice`, :class:`StoreChanged`."""

    DEFAULT_CSS = """
    ConversationDesk {
        height: 1fr;
    }
    """

    def __init__(self, services: Services, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.services = services
        #: Conversation id → the newest message id shown when its composer opened.
        self._seen_up_to: dict[int, int] = {}
        self._draft_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield ConversationPane(self.services, id="conversation")
        yield Composer(self.services, id="composer")

    @property
    def pane(self) -> ConversationPane:
        return self.query_one(ConversationPane)

    def on_resize(self) -> None:
        self.composer.fit_quote()

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    # -- showing ----------------------------------------------------------------------------

    async def load(self, conversation_id: int) -> None:
        """Show ``conversation_id`` as the store has it now (never swapping the conversation
        under an open composer)."""
        store = self.services.store
        try:
            detail = await store.conversation(conversation_id)
        except NotFoundError:
            if self.pane.conversation_id == conversation_id:
                await self.pane.clear("This conversation no longer exists.")
            return
        except AgentConsoleError as error:
            self.post_message(Notice(str(error), "error"))
            return
        keep = self.composer.conversation_id
        if keep is not None and keep != conversation_id:
            return
        await self.pane.show(detail)
        can_reply = self.services.channels.can_reply(detail.row.channel)
        self.pane.set_read_only(None if can_reply else read_only_notice(detail))
        try:
            others = await store.others_writing(conversation_id)
        except AgentConsoleError:
            others = []
        self.pane.set_others_writing(others)

    # -- composing --------------------------------------------------------------------------

    def start(self, target: int, kind: str, then: Callable[[], object] | None = None) -> None:
        """Open the composer on ``target`` for a ``"reply"`` or a ``"note"``; ``then`` runs
        once it is open."""
        composer = self.composer
        if composer.is_open:
            if composer.conversation_id == target and composer.kind == kind:
                composer.text_area.focus()
                if then:
                    then()
                return
            self.keep_draft()
            composer.stop()
        self.run_worker(
            deferred(self._open, target, kind, then),
            group="composer",
            exclusive=True,
            exit_on_error=False,
        )

    async def _open(self, target: int, kind: str, then: Callable[[], object] | None) -> None:
        services = self.services
        try:
            detail = self.pane.detail
            if detail is None or detail.row.id != target:
                detail = await services.store.conversation(target)
                await self.pane.show(detail)
            if kind == "reply" and not services.channels.can_reply(detail.row.channel):
                notice = read_only_notice(detail)
                self.pane.set_read_only(notice)
                self.post_message(Notice(notice.plain, "warning"))
                return
            body = services.drafts.get(target, kind)
            if body is None:
                body = await services.store.draft(target, kind) or ""
            if not services.drafts.knows_inserted(target, kind):  # kept from an earlier run
                stored = await services.store.draft_macros(target, kind)
                services.drafts.keep_inserted(target, kind, stored)
        except AgentConsoleError as error:
            self.post_message(Notice(str(error), "error"))
            return
        quote = None
        if kind == "reply":
            name = one_line(detail.contact.name or detail.row.contact_name) or "the customer"
            title = Text.assemble("Reply to ", (name, "bold"), " on ")
            title.append_text(safe_text(detail.row.channel, "cyan", multiline=False))
            customer = last_customer_message(detail)
            if customer:
                lines = quoted(customer, services.clock(), max_lines=5)
                quote = Text(lines, style="dim", end="")
        else:
            title = Text("Internal note — only agents see it", end="")
        # What the agent had in front of them: a reply another agent sends after this is a
        # collision, reported before anything goes out.
        self._seen_up_to[target] = max((m.id for m in detail.messages), default=0)
        inserted = services.drafts.inserted(target, kind)
        self.composer.start(target, kind, title, quote, body, detail, inserted)
        if then:
            then()

    def edit_in_editor(self) -> None:
        """The open composer's text in ``$EDITOR`` (an email reply begun empty quotes the
        customer; a chat line never carries an "On … wrote:" quote)."""
        composer = self.composer
        if not composer.is_open or composer.conversation_id is None:
            return
        body = composer.body
        detail = self.pane.detail
        if (
            not body.strip()
            and composer.kind == "reply"
            and detail is not None
            and detail.row.channel_kind != "chat"
        ):
            customer = last_customer_message(detail)
            if customer:
                body = "\n\n" + quoted(customer, self.services.clock()) + "\n"
        edited, problem = edit_text(self.app, body)
        if problem is not None:
            self.post_message(problem)
        if edited is not None:
            composer.set_body(edited.rstrip("\n"))
            composer.text_area.focus()

    def keep_draft(self) -> None:
        """Put what the open composer holds into the draft buffer and write it soon."""
        composer = self.composer
        if composer.is_open and composer.conversation_id is not None:
            self.services.drafts.keep(composer.conversation_id, composer.kind, composer.body)
            self._flush_drafts()

    def _flush_drafts(self) -> None:
        async def flush() -> None:
            try:
                await self.services.drafts.flush(self.services.store)
            except AgentConsoleError as error:
                self.post_message(Notice(f"Draft not saved: {error}", "error"))

        self.run_worker(flush(), group="drafts", exit_on_error=False)

    @on(Composer.DraftChanged)
    def _draft_changed(self, event: Composer.DraftChanged) -> None:
        self.services.drafts.keep(event.conversation_id, event.kind, event.body)
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self._flush_drafts)

    @on(Composer.Closed)
    def _composer_closed(self, event: Composer.Closed) -> None:
        self.services.drafts.keep(event.conversation_id, event.kind, event.body)
        self._flush_drafts()
        if event.body.strip():
            self.post_message(Notice("Draft kept."))
        self.pane.thread.focus()

    @on(Composer.AttachRequested)
    def _attach_requested(self) -> None:
        from ...attachments import read_for_sending

        channel = self.pane.detail.row.channel if self.pane.detail else None
        if channel is not None and not self.services.channels.can_attach(channel):
            self.post_message(Notice(f"{one_line(channel)} cannot send attachments.", "warning"))
            return

        def check(value: str) -> Text:
            path = Path(value.strip()).expanduser()
            if not path.is_file():
                raise UsageError(f"no file at {path}")
            return Text(f"attach {path.name} ({path.stat().st_size} bytes)", style="dim")

        def attach(value: str) -> None:
            try:
                self.composer.add_attachment(read_for_sending(value.strip()))
            except AgentConsoleError as error:
                self.post_message(Notice(str(error), "error"))
            self.composer.text_area.focus()

        start = str(Path.cwd()) + os.sep
        ask_line(self, Text("Attach which file?"), attach, value=start, check=check)

    @on(Composer.Send)
    def _send(self, event: Composer.Send) -> None:
        self.run_worker(self._deliver(event), group="actions", exit_on_error=False)

    async def _deliver(self, event: Composer.Send) -> None:
        services = self.services
        target, kind, body = event.conversation_id, event.kind, event.body
        channel = self.pane.detail.row.channel if self.pane.detail else None
        seen = None if event.anyway else self._seen_up_to.get(target)
        config = services.config
        message_id = 0
        try:
            async with services.drafts.sending(target, kind):
                if kind == "note":
                    await services.store.add_note(target, body)
                else:
                    message_id = await services.store.queue_undoable_reply(
                        target,
                        body,
                        undo_seconds=config.undo_seconds,
                        then_status=event.then_status,
                        attachments=event.attachments,
                        seen_up_to=seen,
                        assign_if_unassigned=config.assign_on_reply,
                        macros=event.saved_replies,
                    )
        except ConflictError as error:
            services.drafts.keep(target, kind, body)
            self._flush_drafts()  # held by the guard: a draft in the store (Needs attention)
            await self.load(target)  # show what the other agent sent
            question = safe_text(f"{error}\n\nSend yours anyway?")

            def anyway() -> None:
                self.post_message(
                    Composer.Send(
                        target,
                        kind,
                        body,
                        event.attachments,
                        anyway=True,
                        saved_replies=event.saved_replies,
                        after=event.after,
                    )
                )

            ask_yes(self, question, anyway)
            return
        except AgentConsoleError as error:
            services.drafts.keep(target, kind, body)
            self.post_message(Notice(str(error), "error"))
            return
        services.drafts.sent(target, kind)
        if kind == "reply" and event.tag_change is not None:  # a saved reply's macro
            try:
                await services.store.apply([target], event.tag_change)
            except AgentConsoleError as error:
                self.post_message(Notice(f"Reply queued; its tags were not set: {error}", "error"))
        if self.composer.conversation_id == target:
            self.composer.stop()
            self.pane.thread.focus()
        if kind == "note":
            self.post_message(Notice("Note added."))
            self.post_message(StoreChanged(target))
            return
        if config.undo_seconds <= 0 and channel:
            services.channels.nudge(channel)
        self.post_message(
            ReplyQueued(target, message_id, channel, config.undo_seconds, advance=event.advances)
        )
