"""The store's half of the ingest pipeline: one committed transaction per batch.

Per message: deduplicate on its identity (channel, external id, content digest — see
:mod:`.identity`; a known id with other content is stored beside the message it shares the
id with, with a note), resolve the author to a contact
(merging contacts that turn out to be one person), thread into a conversation, store the
message with its raw bytes and attachments, index it for search, and update the
conversation (reopen it when a customer writes again). The channel's cursor is written in
the same transaction, so it never runs ahead of what is stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .. import thread_reasons
from ..models import IngestReport
from ..plugin import Identity, InboundMessage
from ..rules.definition import RuleSet
from . import batch_keys, identity, rules_sql, sent_time, spam_sql
from .db import Db
from .ingest_lookups import REFERENCED_BY as _REFERENCED_BY
from .ingest_lookups import REFERS as _REFERS
from .ingest_lookups import SIBLING as _SIBLING
from .ingest_lookups import THREAD_KEY as _THREAD_KEY
from .ingest_lookups import BatchLookups, ConversationState, SameId, opened_state
from .writes import DeferredWrites, NewMessage, audit, insert_message

PREVIEW_CHARS = 200


def normalize_identity(identity: Identity) -> tuple[str, str]:
    """Mail addresses are compared case-insensitively; other namespaces as given (trimmed)."""
    address = identity.address.strip()
    if identity.namespace == "email":
        address = address.lower()
    return identity.namespace, address


#: How much of a body :func:`preview_of` reads first (its first lines nearly always hold
#: the preview; splitting a whole long mail makes a string of each of its lines).
PREVIEW_SCAN = 400


def preview_of(body: str) -> str:
    """The first line of new text: skips blank and quoted lines (``>``)."""
    if len(body) > PREVIEW_SCAN:
        # The head's lines but its last (which may be cut) are the body's first lines.
        found = _first_new_line(body[:PREVIEW_SCAN].splitlines()[:-1])
        if found is not None:
            return found
    found = _first_new_line(body.splitlines())
    return found if found is not None else body.strip()[:PREVIEW_CHARS]


def _first_new_line(lines: Iterable[str]) -> str | None:
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith(">"):
            return stripped[:PREVIEW_CHARS]
    return None


def resolve_contact(
    conn: Db,
    name: str,
    identities: Iterable[Identity],
    now: float,
    known: dict[tuple[str, str], int] | None = None,
    absent: set[tuple[str, str]] | None = None,
    pending: DeferredWrites | None = None,
) -> int:
    """The contact these identities belong to, creating or merging contacts as needed.

    Only verified identities find, merge or join contacts; an unverified one is recorded
    as a claim on the contact (see :class:`~agentconsole.plugin.Identity`). ``known``
    remembers across calls (a batch's) which contact each identity has, so a customer
    writing again costs no lookup; a merge forgets it all. ``absent`` holds identities known
    to have no contact (read for the whole batch at once): they cost no lookup either.
    ``pending``: the batch's conversations and messages not written yet (written before
    a merge moves them)."""
    given = [i for i in identities if i.address.strip()]
    claimed = [normalize_identity(i) for i in given if not i.verified]
    keys = list(dict.fromkeys(normalize_identity(i) for i in given if i.verified))
    remembered = known if known is not None else {}
    found: dict[tuple[str, str], int] = {}
    for namespace, address in keys:
        if (namespace, address) in remembered:
            found[(namespace, address)] = remembered[(namespace, address)]
            continue
        if absent is not None and (namespace, address) in absent:
            continue
        row = conn.execute(
            "SELECT contact_id FROM identities WHERE namespace = ? AND address = ?",
            (namespace, address),
        ).fetchone()
        if row:
            found[(namespace, address)] = row[0]
    contacts = sorted(set(found.values()))
    if not contacts:
        (contact_id,) = conn.execute(
            "INSERT INTO contacts(name, created_at) VALUES (?, ?) RETURNING id",
            (name or "(unknown)", now),
        ).fetchone()
    else:
        contact_id = contacts[0]
        if pending is not None and len(contacts) > 1:
            pending.flush_rows(conn)
        for other in contacts[1:]:
            merge_contacts(conn, contact_id, other, agent="system", now=now)
            remembered.clear()  # the merged contact's other identities moved too
    for key in keys:
        if key not in found:
            conn.execute(
                "INSERT INTO identities(contact_id, namespace, address) VALUES (?, ?, ?)",
                (contact_id, *key),
            )
            if absent is not None:
                absent.discard(key)
    for key in dict.fromkeys(claimed):
        conn.execute(
            "INSERT INTO contact_claims(contact_id, namespace, address, claimed_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (contact_id, *key, now),
        )
    remembered.update(dict.fromkeys(keys, int(contact_id)))
    return int(contact_id)


def merge_contacts(conn: Db, kept_id: int, merged_id: int, *, agent: str, now: float) -> None:
    """Move every identity and conversation of ``merged_id`` to ``kept_id``, recording what
    moved so :func:`unmerge_contacts` can undo it."""
    # Reaches every conversation and identity of both contacts, beyond an ingest batch's
    # lock keys: no other writer runs from here on.
    conn.dialect.exclusive(conn)
    identity_ids = [
        r[0] for r in conn.execute("SELECT id FROM identities WHERE contact_id = ?", (merged_id,))
    ]
    conversation_ids = [
        r[0]
        for r in conn.execute("SELECT id FROM conversations WHERE contact_id = ?", (merged_id,))
    ]
    conn.execute("UPDATE identities SET contact_id = ? WHERE contact_id = ?", (kept_id, merged_id))
    conn.execute(
        "UPDATE conversations SET contact_id = ? WHERE contact_id = ?", (kept_id, merged_id)
    )
    conn.execute("UPDATE messages SET contact_id = ? WHERE contact_id = ?", (kept_id, merged_id))
    # Claims follow the person (those the kept contact already has are dropped).
    conn.execute(
        "UPDATE contact_claims SET contact_id = ? WHERE contact_id = ? AND NOT EXISTS ("
        "SELECT 1 FROM contact_claims k WHERE k.contact_id = ?"
        " AND k.namespace = contact_claims.namespace AND k.address = contact_claims.address)",
        (kept_id, merged_id, kept_id),
    )
    conn.execute("DELETE FROM contact_claims WHERE contact_id = ?", (merged_id,))
    conn.execute(
        "INSERT INTO contact_merges(at, agent, kept_id, merged_id, identities, conversations)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (now, agent, kept_id, merged_id, json.dumps(identity_ids), json.dumps(conversation_ids)),
    )
    audit(conn, agent, "contact.merge", None, {"kept": kept_id, "merged": merged_id}, now)


def _conversation_by_token(
    conn: Db, batch: BatchLookups, channel_id: int, message: InboundMessage
) -> int | None:
    """The conversation a token names, if it is on this channel and belongs to the author."""
    token = message.conversation_token
    if not token or not token.isdigit() or not message.author.identities:
        return None
    if batch.deferred.pending_conversation(int(token)):
        batch.deferred.flush_rows(conn)
    row = conn.execute(
        "SELECT c.id FROM conversations c JOIN identities i ON i.contact_id = c.contact_id"
        " WHERE c.id = ? AND c.channel_id = ? AND i.namespace = ? AND i.address = ?",
        (int(token), channel_id, *normalize_identity(message.author.identities[0])),
    ).fetchone()
    return int(row[0]) if row else None


@dataclass(frozen=True, slots=True)
class Threaded:
    """Where threading put a message and why (a code of :mod:`agentconsole.thread_reasons`
    and what it names)."""

    conversation_id: int
    reason: str
    detail: str | None = None


def _followed(conn: Db, batch: BatchLookups, found: Threaded) -> Threaded:
    """``found``, or where its conversation was merged to (the detail says so)."""
    target = batch.resolve(conn, found.conversation_id)
    if target == found.conversation_id:
        return found
    detail = f"{found.detail} (#{found.conversation_id} was merged into #{target})"
    return Threaded(target, found.reason, detail)


def _find_conversation(
    conn: Db, batch: BatchLookups, channel_id: int, message: InboundMessage
) -> Threaded | None:
    """The conversation a new message belongs to, and why; None when it starts one.

    In order: a message it refers to (the latest reference first), a sibling answering the
    same unseen message, a stored reply that names it, its ``[#N]`` token, its thread key.
    Lookups go by the messages' current conversations, so a message an agent moved or split
    off takes the replies to it along; a token or thread key naming a merged conversation
    leads to the one it was merged into."""
    evidence = batch.threading_evidence(message.external_id, message.references, message.thread_key)
    found: Threaded | None = None
    for reference in reversed(message.references):
        if (_REFERS, reference) in evidence:
            found = Threaded(evidence[(_REFERS, reference)], thread_reasons.REFERENCES, reference)
            break
    if found is None:
        for (kind, name), conversation_id in evidence.items():
            if kind == _SIBLING:
                found = Threaded(conversation_id, thread_reasons.SIBLING, name)
    if found is None and (_REFERENCED_BY, message.external_id) in evidence:
        found = Threaded(
            evidence[(_REFERENCED_BY, message.external_id)],
            thread_reasons.REFERENCED_BY,
            message.external_id,
        )
    if found is None:
        by_token = _conversation_by_token(conn, batch, channel_id, message)
        if by_token is not None:
            found = Threaded(by_token, thread_reasons.TOKEN, f"[#{message.conversation_token}]")
    if found is None and message.thread_key is not None:
        key = (_THREAD_KEY, message.thread_key)
        if key in evidence:
            found = Threaded(evidence[key], thread_reasons.THREAD_KEY, message.thread_key)
    return None if found is None else _followed(conn, batch, found)


def _subject_or_first_line(message: InboundMessage) -> str:
    return message.subject.strip() or preview_of(message.body)


def _ingest_one(
    conn: Db,
    batch: BatchLookups,
    channel_id: int,
    message: InboundMessage,
    digest: str,
    sent: tuple[float, str | None],
    same: SameId | None,
    note: str | None,
    now: float,
    created: list[int],
    touched: list[int],
    reopened: list[int],
) -> SameId:
    """Store one new message, in ``same``'s conversation when given (a message sharing its
    id with a stored one joins that one's conversation), else where threading puts it;
    returns what was stored."""
    threaded: Threaded | None = None
    conversation_id: int | None
    if same is not None:
        conversation_id = batch.resolve(conn, same.conversation_id)
        threaded = Threaded(conversation_id, thread_reasons.SAME_ID, f"message {same.message_id}")
    else:
        threaded = _find_conversation(conn, batch, channel_id, message)
        conversation_id = threaded.conversation_id if threaded else None
    contact_id: int | None = None
    role = message.role
    if role == "customer":
        contact_id = resolve_contact(
            conn,
            message.author.name,
            message.author.identities,
            now,
            batch.contacts,
            batch.no_contact,
            batch.deferred,
        )
    elif conversation_id is None:
        # Our side started this conversation: the customer is whom it was addressed to.
        customer = message.participants[:1] or message.author.identities
        name = customer[0].address if message.participants else message.author.name
        contact_id = resolve_contact(
            conn, name, customer, now, batch.contacts, batch.no_contact, batch.deferred
        )
    sent_at, time_note = sent
    state: ConversationState | None = None
    if conversation_id is not None:
        state = batch.conversation_state(conn, conversation_id)
    else:
        waiting_since, first_response_at = _opening_clocks(message, sent_at)
        conversation_id = batch.deferred.open_conversation(
            conn,
            (  # writes.CONVERSATION_COLUMNS
                channel_id,
                message.thread_key,
                contact_id,
                _subject_or_first_line(message),
                preview_of(message.body),
                sent_at,
                now,
                sent_at,
                message.url,
                1,
                waiting_since,
                first_response_at,
            ),
        )
        created.append(conversation_id)
        threaded = Threaded(conversation_id, thread_reasons.FIRST)
    direction = "in" if role == "customer" else "out"
    author_role = None if message.author_role == "customer" else message.author_role
    namespace, address = (
        normalize_identity(message.author.identities[0])
        if message.author.identities
        else (None, None)
    )
    message_id = insert_message(
        conn,
        NewMessage(
            conversation_id=conversation_id,
            channel_id=channel_id,
            direction=direction,
            author_name=message.author.name,
            sent_at=sent_at,
            created_at=now,
            subject=message.subject,
            body=message.body,
            external_id=message.external_id,
            content_digest=digest,
            author_namespace=namespace,
            author_address=address,
            contact_id=contact_id if direction == "in" else None,
            automated=message.automated,
            parse_note="; ".join(n for n in (note, time_note, message.parse_note) if n) or None,
            url=message.url,
            in_reply_to=message.references[-1] if message.references else None,
            participants=json.dumps([normalize_identity(p) for p in message.participants])
            if message.participants
            else None,
            references=message.references,
            raw=message.raw,
            attachments=message.attachments,
            thread_reason=threaded.reason if threaded else None,
            thread_reason_detail=threaded.detail if threaded else None,
            author_role=author_role,
            search_key=batch.search_key(conn, sent_at),
        ),
        deferred=batch.deferred,
    )
    if state is not None:
        # A bot opened the conversation (a greeting) before the customer wrote: it belongs
        # to the customer who writes first, not to the bot it was filed under.
        claimed_by = contact_id if direction == "in" and state.opened_by_bot else None
        state = _update_conversation(
            conn, batch, conversation_id, state, claimed_by, message, sent_at, now, reopened
        )
    else:
        state = opened_state(sent_at, customer=direction == "in", bot=author_role == "bot")
    if message.handoff:
        # Its changes are written over what the batch changed so far.
        batch.deferred.flush_rows(conn)
        batch.updates.flush(conn, only=(conversation_id,))
        _hand_off(conn, conversation_id, state.status, sent_at, now, reopened)
        state = state.joined_by(
            latest=state.last_message_at, customer=False, bot=False, status="open"
        )
    batch.noted(conversation_id, state)
    touched.append(conversation_id)
    return SameId(message_id, conversation_id, digest)


def _opening_clocks(message: InboundMessage, sent_at: float) -> tuple[float | None, float | None]:
    """``(waiting_since, first_response_at)`` of a conversation ``message`` opens: what
    :func:`_update_conversation` makes of a conversation with no message yet."""
    if message.role != "customer":
        return None, sent_at if message.role == "agent" else None
    if message.automated:
        return None, None
    return sent_at, None


def _update_conversation(
    conn: Db,
    batch: BatchLookups,
    conversation_id: int,
    state: ConversationState,
    claimed_by: int | None,
    message: InboundMessage,
    sent_at: float,
    now: float,
    reopened: list[int],
) -> ConversationState:
    """The conversation after ``message`` joined it (its count, latest time, preview,
    waiting clock; reopened when a customer writes again; the customer's once
    ``claimed_by`` is set), noted in the batch's pending changes (written at its end:
    :mod:`.conversation_updates`); returns its state after."""
    newest = sent_at >= state.last_message_at
    latest = sent_at if newest else state.last_message_at
    preview = preview_of(message.body) if newest else None
    customer = message.role == "customer"
    bot = message.author_role == "bot"
    if claimed_by is not None:
        # At once: a token names a conversation through its contact.
        batch.deferred.flush_rows(conn)
        conn.execute(
            "UPDATE conversations SET contact_id = ? WHERE id = ?", (claimed_by, conversation_id)
        )
    if not customer:
        # A line of ours (an agent's, or a bot's) answers the customer; only a person's is
        # the first response.
        batch.updates.joined(
            conversation_id,
            last_message_at=latest,
            preview=preview,
            clear_waiting=newest,
            first_response_at=sent_at if message.role == "agent" else None,
        )
        return state.joined_by(latest=latest, customer=False, bot=bot, status=state.status)
    if message.automated:
        # Auto-replies and bounces are kept in the thread but never look like the customer
        # wrote: no reopen, no waiting clock, no newer latest time.
        batch.updates.joined(conversation_id, last_message_at=state.last_message_at)
        return state.joined_by(
            latest=state.last_message_at, customer=True, bot=bot, status=state.status
        )
    # Any new customer message reopens: judged by arrival, not by the sender's Date (mail
    # delayed by greylisting or a slow clock would otherwise stay buried in a closed thread).
    reopen = state.status in ("pending", "snoozed", "closed")
    batch.updates.joined(
        conversation_id,
        last_message_at=latest,
        preview=preview,
        waiting_from=sent_at,
        reopen=reopen,
    )
    if reopen:
        audit(
            conn,
            "system",
            "reopen",
            conversation_id,
            {"from": state.status, "reason": "customer wrote"},
            now,
        )
        reopened.append(conversation_id)
    return state.joined_by(
        latest=latest, customer=True, bot=bot, status="open" if reopen else state.status
    )


#: The tag a conversation handed off by a bot carries (its own view in the sidebar).
HANDOFF_TAG = "bot-handoff"


def _hand_off(
    conn: Db, conversation_id: int, status: str, sent_at: float, now: float, reopened: list[int]
) -> None:
    """A bot handed the conversation (now in ``status``) to people: it is open, in the
    queue, the customer waiting since the hand-off, tagged and audited as handed off by the
    bot."""
    conn.execute(
        "UPDATE conversations SET status = 'open', snooze_until = NULL, resolved_at = NULL,"
        " waiting_since = ?, handed_off_at = ?, updated_at = ? WHERE id = ?",
        (sent_at, sent_at, now, conversation_id),
    )
    conn.execute(
        "INSERT INTO conversation_tags(conversation_id, tag) VALUES (?, ?)"
        " ON CONFLICT (conversation_id, tag) DO NOTHING",
        (conversation_id, HANDOFF_TAG),
    )
    audit(conn, "bot", "handoff", conversation_id, {"from": status}, now)
    if status != "open":
        reopened.append(conversation_id)


def ingest_batch(
    conn: Db,
    channel_id: int,
    messages: Sequence[InboundMessage],
    cursor: str | None,
    *,
    update_cursor: bool = True,
    rules: RuleSet | None = None,
) -> IngestReport:
    """Store a batch and (optionally) the channel's new cursor in one transaction.

    A message whose identity is stored already (in an earlier batch or earlier in this one)
    is counted as a duplicate and not stored again. ``rules`` run in the same transaction,
    over the conversations the batch created or wrote to (see :mod:`.rules_sql`)."""
    now = time.time()
    created: list[int] = []
    touched: list[int] = []
    reopened: list[int] = []
    inbound: list[int] = []
    customer_wrote: list[int] = []
    stored = duplicates = 0
    # Beside other writers' batches on PostgreSQL, unless rules act (a round robin's turn,
    # an agent's load are the whole store's).
    acting = rules is not None and any(rules.for_event(e) for e in ("new_conversation", "inbound"))
    keys = (
        None if acting else batch_keys.ingest_keys(conn, channel_id, messages, cursor=update_cursor)
    )
    with conn.transaction(keys=keys):
        (kind,) = conn.execute("SELECT kind FROM channels WHERE id = ?", (channel_id,)).fetchone()
        policy = rules.spam if rules is not None else None
        blocks_here = spam_sql.channel_blocks(conn, channel_id)
        # Only then can an arrival land in Spam (the screen's checks, skipped otherwise).
        screening = blocks_here or (policy is not None and policy.active)
        sent = [sent_time.bounded(message.sent_at, now) for message in messages]
        batch = BatchLookups(
            conn,
            channel_id,
            (message.external_id for message in messages),
            (sent_at for sent_at, _ in sent),
            (reference for message in messages for reference in message.references),
            (message.thread_key for message in messages if message.thread_key is not None),
            (
                normalize_identity(person)
                for message in messages
                for person in (*message.author.identities, *message.participants[:1])
                if person.verified and person.address.strip()
            ),
            now=now,
        )
        for message, sent_at in zip(messages, sent, strict=True):
            digest = identity.digest_of(message)
            known = batch.same_id(message.external_id)
            if any(identity.is_redelivery(digest, k.content_digest) for k in known):
                duplicates += 1
                continue
            first = known[0] if known else None
            opened = len(created)
            batch.stored(
                message.external_id,
                _ingest_one(
                    conn,
                    batch,
                    channel_id,
                    message,
                    digest,
                    sent_at,
                    first,
                    identity.same_id_note(first.message_id, kind) if first else None,
                    now,
                    created,
                    touched,
                    reopened,
                ),
                message.references,
                message.thread_key,
                opened=len(created) > opened,
            )
            stored += 1
            if message.from_agent:
                continue
            if screening and batch.deferred.pending_conversation(touched[-1]):
                batch.deferred.flush_rows(conn)  # the screen may mark it spam
            if screening and spam_sql.screen(
                conn,
                policy,
                channel_id,
                message,
                [normalize_identity(i) for i in message.author.identities if i.address],
                touched[-1],
                now,
                blocks_here=blocks_here,
            ):
                continue  # in Spam: no rule acts on it, nothing answers it
            inbound.append(touched[-1])
            if not message.automated:
                customer_wrote.append(touched[-1])
        # The batch's search entries and references in one go, before a rule's query
        # can read them.
        batch.deferred.flush(conn)
        batch.updates.flush(conn)
        if rules is not None:
            rules_sql.run_on_ingest(conn, rules, created, inbound, customer_wrote, now)
        if update_cursor:
            conn.execute("UPDATE channels SET cursor = ? WHERE id = ?", (cursor, channel_id))
    return IngestReport(
        stored=stored,
        duplicates=duplicates,
        created=tuple(created),
        touched=tuple(dict.fromkeys(touched)),
        reopened=tuple(dict.fromkeys(reopened)),
    )
