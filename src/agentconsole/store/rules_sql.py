"""Rules run by the store, inside the transaction of what triggered them: a batch of new
messages (:func:`run_on_ingest`, from :mod:`.ingest_sql`), an agent's change
(:func:`run_rules`, from :mod:`.changes`), or the minute's schedule (:func:`run_schedule`).

For each event the rules are taken in order; each one's condition is checked against the
conversations the event touched that are still in play (one statement per rule), its
actions are applied to those it matches, and with ``stop`` they leave play for the rules
after it. Every change is decided by :mod:`.changes` (the one place for what a change
does), audited as the rule (``rule 'NAME'``), and one ``rule`` entry per conversation
records the state before, so it can be undone. A rule's matches are acted on together
(:func:`apply_rule`: a few statements and one audit append per rule and batch, not per
conversation), written before the next rule's condition is read, so each rule sees what
the ones before it did. A rule's own changes never trigger rules: no cascades, no loops.

Replies: a rule sends a saved reply only to a customer — never to an auto-reply or a bounce
(messages flagged automated) or to our own messages — and at most once per conversation in
:data:`~agentconsole.rules.definition.AUTO_REPLY_INTERVAL`; an acknowledgement neither
counts as the first response nor stops the customer's waiting clock. Hook commands are only
queued here (``rule_hooks``) and run after the commit, outside any transaction.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from ..errors import ConflictError, NotFoundError, UsageError
from ..models import ACTIVE_STATUSES, Change, ConversationState
from ..replies import Agent, fill
from ..rules.definition import (
    AUTO_REPLY_INTERVAL,
    EVENT_OF_CHANGE,
    Assignment,
    Event,
    Rule,
    RuleSet,
    rule_agent,
)
from ..timeparse import parse_when
from . import actions, changes, queries, spam_sql
from .compile_query import compile_for_ids, compile_query, ids_estimator
from .db import Db
from .writes import audit

log = logging.getLogger(__name__)

#: Conversations checked against a rule per statement.
CHUNK = 500


def run_on_ingest(
    conn: Db,
    rules: RuleSet,
    created: Sequence[int],
    inbound: Sequence[int],
    customer_wrote: Iterable[int],
    now: float,
) -> int:
    """The rules of a batch, in its transaction: ``new_conversation`` over the conversations
    it created, then ``inbound`` over those that received a message from outside.
    ``customer_wrote`` are the conversations where a person (not an automated sender, not
    us) wrote: the only ones a rule may reply to. Returns how many conversations changed."""
    wrote = frozenset(customer_wrote)
    changed = run_rules(conn, rules, "new_conversation", created, now, customer_wrote=wrote)
    changed += run_rules(conn, rules, "inbound", inbound, now, customer_wrote=wrote)
    return changed


def run_rules(
    conn: Db,
    rules: RuleSet | None,
    event: Event,
    ids: Sequence[int],
    now: float,
    *,
    customer_wrote: frozenset[int] | None = None,
) -> int:
    """The rules of ``event`` over ``ids``, inside the caller's transaction; returns how
    many conversations a rule changed. ``customer_wrote`` (ingest) limits replies to the
    conversations a customer just wrote in; without it the thread's last message decides."""
    if rules is None or not ids:
        return 0
    in_play = list(dict.fromkeys(ids))
    changed = 0
    estimate: Callable[[str], int] | None = None
    for rule in rules.for_event(event):
        if not in_play:
            break
        if estimate is None:  # sized once per event: the same words recur across rules
            estimate = ids_estimator(conn, _messages_of(conn, in_play))
        matched = matching(conn, rule, in_play, now, estimate)
        changed += apply_rule(conn, rule, matched, now, rules.reply_as, customer_wrote)
        if rule.stop and matched:
            out = set(matched)
            in_play = [i for i in in_play if i not in out]
    return changed


def after_agent_change(
    conn: Db, rules: RuleSet | None, kind: str, ids: Sequence[int], now: float
) -> None:
    """An agent changed ``ids`` (a :class:`~agentconsole.models.Change` of ``kind``): the
    rules of that event, in the same transaction."""
    event = EVENT_OF_CHANGE.get(kind)
    if event is not None:
        run_rules(conn, rules, event, ids, now)


def matching(
    conn: Db,
    rule: Rule,
    ids: Sequence[int],
    now: float,
    estimate: Callable[[str], int] | None = None,
) -> list[int]:
    """Those of ``ids`` that ``rule``'s condition matches, in the order given."""
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        condition = compile_for_ids(
            rule.query,
            ids[start : start + CHUNK],
            agent=rule_agent(rule.name),
            now=now,
            dialect=conn.dialect,
            estimate=estimate,
        )
        sql = f"SELECT c.id FROM conversations c WHERE {condition.where}"
        found.update(r[0] for r in conn.execute(sql, condition.params))
    return [i for i in ids if i in found]


def _messages_of(conn: Db, ids: Sequence[int]) -> int:
    """How many messages the conversations ``ids`` hold."""
    total = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        placeholders = ", ".join("?" * len(chunk))
        sql = f"SELECT count(*) FROM messages WHERE conversation_id IN ({placeholders})"
        total += int(conn.execute(sql, chunk).fetchone()[0])
    return total


def apply_rule(
    conn: Db,
    rule: Rule,
    ids: Sequence[int],
    now: float,
    reply_as: str,
    customer_wrote: frozenset[int] | None = None,
) -> int:
    """``rule``'s actions on the conversations ``ids`` it matched, in order; returns how
    many changed (for each, a ``rule`` audit entry records the state before, for undo).

    The result is what acting on one conversation after another gives — the same states,
    the same audit entries in the same order — for fewer statements: the states are read
    at once, the changes decided in memory and written together (:class:`.changes.Pending`),
    the audit entries appended in one go. What reads the store (spam, a saved reply, a
    note, ``least_busy``) first writes what was decided before it."""
    if not ids:
        return 0
    known = changes.states(conn, ids)
    pending = changes.Pending(conn, rule_agent(rule.name), now)
    turns: dict[str, str | None] = {}
    seen: set[int] = set()
    changed = 0
    for conversation_id in ids:
        before = known.get(conversation_id)
        if before is None:
            raise NotFoundError(f"no conversation {conversation_id}")
        if before.conversation_id in seen:
            # Two ids of one conversation (one merged into the other): the second is
            # decided on what the first did.
            pending.flush()
            before = changes.state(conn, conversation_id)
        seen.add(before.conversation_id)
        changed += _act(
            conn, rule, pending, before, conversation_id, turns, reply_as, customer_wrote
        )
    pending.flush()
    _save_turns(conn, turns, now)
    return changed


def _act(
    conn: Db,
    rule: Rule,
    pending: changes.Pending,
    before: ConversationState,
    conversation_id: int,
    turns: dict[str, str | None],
    reply_as: str,
    customer_wrote: frozenset[int] | None,
) -> int:
    """``rule``'s actions on one conversation (``before``, asked for as ``conversation_id``),
    decided into ``pending``; 1 when anything changed, else 0."""
    who, then, now = pending.agent, rule.then, pending.now
    current = before
    did: list[str] = []

    def change(description: str, wanted: Change) -> None:
        nonlocal current
        try:
            outcome, current = pending.change(current, wanted)
        except ConflictError:
            return  # held by an agent: a rule never takes a conversation from a person
        if outcome.changed:
            did.append(description)

    if then.add_tags or then.remove_tags:
        tags = [f"+{t}" for t in then.add_tags] + [f"-{t}" for t in then.remove_tags]
        change(" ".join(tags), Change("tags", add=then.add_tags, remove=then.remove_tags))
    if then.priority is not None:
        change("priority", Change("priority", rank=then.priority))
    if then.status is not None:
        change(f"status {then.status}", Change("status", status=then.status))
    if then.snooze is not None:
        until = snooze_until(then.snooze, now)
        change(f"snooze {then.snooze}", Change("status", status="snoozed", snooze_until=until))
    if then.assign is not None and before.assignee is None:
        if then.assign.kind == "least_busy":
            pending.flush()  # the members' load counts what this batch assigned so far
        assignee = pick_assignee(conn, then.assign, turns)
        change(f"assign {assignee}", Change("assign", assignee=assignee))
    if then.spam:
        pending.flush()
        if spam_sql.mark(conn, conversation_id, who, now):
            did.append("spam")
    if then.reply is not None and not then.spam:
        pending.flush()
        did += _reply(conn, rule, conversation_id, now, reply_as, customer_wrote)
    if then.note is not None:
        pending.flush()
        message_id = actions._insert_agent_message(
            conn, conversation_id, "note", then.note, who, who, now
        )
        _count_message(conn, conversation_id, now)
        audit(conn, who, "note", conversation_id, {"message": message_id}, now)
        did.append("note")
    if then.hook is not None:
        conn.execute(
            "INSERT INTO rule_hooks(rule, event, conversation_id, command, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (rule.name, rule.on, conversation_id, then.hook, now),
        )
        did.append("hook")
    if not did:
        return 0
    detail = {"rule": rule.name, "event": rule.on, "did": did, "before": changes._describe(before)}
    pending.audit("rule", conversation_id, detail)
    return 1


def snooze_until(text: str, now: float) -> float:
    """When a rule's ``snooze = "in 2d"`` wakes a conversation snoozed at ``now``."""
    return parse_when(text, datetime.fromtimestamp(now).astimezone()).timestamp()


def pick_assignee(conn: Db, assignment: Assignment, turns: dict[str, str | None]) -> str:
    """The agent a conversation goes to: the one named; the team member after the one round
    robin chose last (remembered in the store, so turns survive restarts and are shared by
    every process); or the member with the fewest open and pending conversations (the
    first listed on a tie). Round robin's choices are kept in ``turns`` (each team's last
    one read from the store once) until :func:`_save_turns` writes them."""
    members = assignment.members
    if assignment.kind == "agent":
        return assignment.name
    if assignment.kind == "least_busy":
        load = active_counts(conn, members)
        return min(members, key=lambda member: (load.get(member, 0), members.index(member)))
    if assignment.name not in turns:
        row = conn.execute(
            "SELECT last_agent FROM rule_rotation WHERE team = ?", (assignment.name,)
        ).fetchone()
        turns[assignment.name] = row[0] if row else None
    chosen = next_in_turn(assignment.members, turns[assignment.name])
    turns[assignment.name] = chosen
    return chosen


def _save_turns(conn: Db, turns: dict[str, str | None], now: float) -> None:
    """Remember each team's last round-robin choice."""
    for team, last in turns.items():
        conn.execute(
            "INSERT INTO rule_rotation(team, last_agent, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(team) DO UPDATE SET last_agent = excluded.last_agent,"
            " updated_at = excluded.updated_at",
            (team, last, now),
        )


def next_in_turn(members: Sequence[str], last: str | None) -> str:
    """The member after ``last`` (the first when ``last`` is none or left the team)."""
    if last is None or last not in members:
        return members[0]
    return members[(list(members).index(last) + 1) % len(members)]


def active_counts(conn: Db, members: Sequence[str]) -> dict[str, int]:
    """How many open and pending conversations each of ``members`` holds."""
    placeholders = ", ".join("?" * len(members))
    statuses = ", ".join("?" * len(ACTIVE_STATUSES))
    rows = conn.execute(
        f"SELECT assignee, count(*) FROM conversations WHERE assignee IN ({placeholders})"
        f" AND status IN ({statuses}) GROUP BY assignee",
        (*members, *ACTIVE_STATUSES),
    )
    return {assignee: int(count) for assignee, count in rows}


def reply_refusal(
    conn: Db,
    conversation_id: int,
    now: float,
    customer_wrote: frozenset[int] | None = None,
) -> str | None:
    """Why a rule may not send a saved reply to this conversation now (None: it may)."""
    if customer_wrote is not None and conversation_id not in customer_wrote:
        return "the new message is not a customer's (an auto-reply, a bounce or ours)"
    last = conn.execute(
        "SELECT automated FROM messages WHERE conversation_id = ? AND direction = 'in'"
        " ORDER BY sent_at DESC, id DESC LIMIT 1",
        (conversation_id,),
    ).fetchone()
    if last is None:
        return "no customer wrote in it"
    if last[0]:
        return "its last message is an auto-reply or a bounce"
    recent = conn.execute(
        "SELECT 1 FROM audit_log WHERE conversation_id = ? AND action = 'rule.reply'"
        " AND at >= ? LIMIT 1",
        (conversation_id, now - AUTO_REPLY_INTERVAL),
    ).fetchone()
    if recent is not None:
        return "a rule replied to it within the last day"
    return None


def _reply(
    conn: Db,
    rule: Rule,
    conversation_id: int,
    now: float,
    reply_as: str,
    customer_wrote: frozenset[int] | None,
) -> list[str]:
    """Queue the rule's saved reply (and apply its tags and status) when allowed."""
    saved = rule.then.reply
    assert saved is not None
    if reply_refusal(conn, conversation_id, now, customer_wrote) is not None:
        return []
    who = rule_agent(rule.name)
    try:
        body = fill(saved, queries.conversation_detail(conn, conversation_id), Agent(who, reply_as))
    except UsageError as error:  # not offered on this channel, a placeholder without value
        log.warning("rule %r: no reply to #%s: %s", rule.name, conversation_id, error)
        return []
    message_id = actions._insert_agent_message(
        conn, conversation_id, "out", body, who, reply_as, now
    )
    channel_id = conn.execute(
        "SELECT channel_id FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO outbox(message_id, channel_id, idempotency_key, next_attempt_at,"
        " created_at) VALUES (?, ?, ?, ?, ?)",
        (message_id, channel_id, uuid.uuid4().hex, now, now),
    )
    _count_message(conn, conversation_id, now)
    audit(
        conn, who, "rule.reply", conversation_id, {"message": message_id, "reply": saved.name}, now
    )
    did = [f"reply {saved.name}"]
    add, remove = saved.tag_changes
    if add or remove:
        outcome = changes.apply_one(
            conn, conversation_id, Change("tags", add=tuple(add), remove=tuple(remove)), who, now
        )
        if outcome.changed:
            did.append("reply's tags")
    if saved.status is not None:
        outcome = changes.apply_one(
            conn, conversation_id, Change("status", status=saved.status), who, now
        )
        if outcome.changed:
            did.append(f"status {saved.status}")
    return did


def _count_message(conn: Db, conversation_id: int, now: float) -> None:
    conn.execute(
        "UPDATE conversations SET message_count = message_count + 1, updated_at = ? WHERE id = ?",
        (now, conversation_id),
    )


# -- the schedule and undo --------------------------------------------------------------------


def run_schedule(conn: Db, rules: RuleSet, now: float) -> dict[str, int]:
    """Every enabled ``schedule`` rule over the conversations its condition matches at
    ``now``, in order (``stop`` takes a conversation out of play for the rules after it);
    one transaction per :data:`CHUNK`. A rule acts on a conversation at most once in
    :data:`~agentconsole.rules.definition.AUTO_REPLY_INTERVAL` (a note or a hook would
    otherwise come every minute while the condition holds, from every process running
    the schedule). Returns, by rule, how many conversations changed."""
    stopped: set[int] = set()
    changed: dict[str, int] = {}
    for rule in rules.for_event("schedule"):
        # Every match is wanted: full-text terms are listed from the index once.
        condition = compile_query(
            rule.query,
            agent=rule_agent(rule.name),
            now=now,
            dialect=conn.dialect,
            hide_spam=spam_sql.any_spam(conn),
        )
        sql = f"SELECT c.id FROM conversations c WHERE {condition.where} ORDER BY c.id"
        ids = [r[0] for r in conn.execute(sql, condition.params) if r[0] not in stopped]
        count = 0
        for start in range(0, len(ids), CHUNK):
            with conn.transaction():
                due = [
                    i for i in ids[start : start + CHUNK] if not _acted_lately(conn, rule, i, now)
                ]
                count += apply_rule(conn, rule, due, now, rules.reply_as)
        changed[rule.name] = count
        if rule.stop:
            stopped.update(ids)
    return changed


def _acted_lately(conn: Db, rule: Rule, conversation_id: int, now: float) -> bool:
    """Whether ``rule`` changed the conversation within the last interval."""
    row = conn.execute(
        "SELECT 1 FROM audit_log WHERE conversation_id = ? AND action = 'rule' AND at >= ?"
        " AND agent = ? LIMIT 1",
        (conversation_id, now - AUTO_REPLY_INTERVAL, rule_agent(rule.name)),
    ).fetchone()
    return row is not None


def last_rule_change(conn: Db, conversation_id: int) -> tuple[str, ConversationState] | None:
    """(the rule, the state before it) of the latest rule change of a conversation."""
    row = conn.execute(
        "SELECT detail FROM audit_log WHERE conversation_id = ? AND action = 'rule'"
        " ORDER BY id DESC LIMIT 1",
        (conversation_id,),
    ).fetchone()
    if row is None:
        return None
    detail = json.loads(row[0])
    before = detail["before"]
    state = ConversationState(
        conversation_id,
        before["status"],
        before["snooze_until"],
        before["priority"],
        before["assignee"],
        tuple(before["tags"]),
    )
    return str(detail["rule"]), state
