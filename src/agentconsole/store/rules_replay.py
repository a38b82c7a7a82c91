"""``rules test``: what a rule would have done over the stored history, read without writing
anything (no transaction is opened; the store file stays byte for byte the same).

The conversations a rule is tried on are those its event touched in the period —
``new_conversation``: created in it; ``inbound``: a message from outside arrived in it;
``status_change`` / ``assignment`` / ``tag_change``: the audit log records such a change in
it; ``schedule``: every conversation, as the next minute's run would see them. The rule's
condition is checked against each one as it is now. Each rule is replayed on its own (one
rule's ``stop`` does not hide conversations from another), so a rule's effect is seen
whole before it is enabled.
"""

from __future__ import annotations

from collections import Counter

from ..models import priority_name
from ..rules.definition import Rule, RuleReplay, rule_agent
from . import spam_sql
from .compile_query import compile_query
from .db import Db
from .rules_sql import active_counts, next_in_turn

#: Ids shown per rule.
SAMPLES = 10
_AUDITED = {"status_change": "status", "assignment": "assign", "tag_change": "tag"}


def _candidates(rule: Rule, since: float) -> tuple[str, tuple[object, ...]]:
    """The conversations ``rule``'s event touched since ``since``, as a condition on ``c``."""
    if rule.on == "new_conversation":
        return "c.created_at >= ?", (since,)
    if rule.on == "inbound":
        return (
            "EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id"
            " AND m.direction = 'in' AND m.sent_at >= ?)",
            (since,),
        )
    if rule.on in _AUDITED:
        return (
            "c.id IN (SELECT conversation_id FROM audit_log WHERE action = ? AND at >= ?)",
            (_AUDITED[rule.on], since),
        )
    return "1 = 1", ()


def replay(conn: Db, rule: Rule, since: float, now: float) -> RuleReplay:
    """What ``rule`` would have done to the conversations its event touched since ``since``
    (Unix seconds), its condition read at ``now``. Reads only."""
    then = rule.then
    candidates, candidate_params = _candidates(rule, since)
    # Every match is wanted, none first: full-text terms are listed from the index once
    # (checking each conversation's messages one by one would take minutes on 100,000).
    condition = compile_query(
        rule.query,
        agent=rule_agent(rule.name),
        now=now,
        dialect=conn.dialect,
        hide_spam=spam_sql.any_spam(conn),
    )
    last_in_automated = (
        "(SELECT m.automated FROM messages m WHERE m.conversation_id = c.id"
        " AND m.direction = 'in' ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)"
        if then.reply is not None
        else "0"
    )
    sql = (
        f"SELECT c.id, c.status, c.priority, c.assignee, {last_in_automated}"
        f" FROM conversations c WHERE {candidates} AND {condition.where} ORDER BY c.id DESC"
    )
    rows = conn.execute(sql, (*candidate_params, *condition.params)).fetchall()
    tags_of = _tags(conn, [*then.add_tags, *then.remove_tags])
    counts: Counter[str] = Counter()
    assignees = _planned_assignees(conn, rule, [r[0] for r in rows if r[3] is None])
    for conversation_id, status, priority, _assignee, automated in rows:
        has = tags_of.get(conversation_id, set())
        for tag in then.add_tags:
            if tag not in has:
                counts[f"+{tag}"] += 1
        for tag in then.remove_tags:
            if tag in has:
                counts[f"-{tag}"] += 1
        if then.priority is not None and priority != then.priority:
            counts[f"priority {priority_name(then.priority)}"] += 1
        if then.status is not None and status != then.status:
            counts[f"status {then.status}"] += 1
        if then.snooze is not None:
            counts[f"snooze {then.snooze}"] += 1
        if conversation_id in assignees:
            counts[f"assign {assignees[conversation_id]}"] += 1
        if then.reply is not None and automated == 0:
            counts[f"reply {then.reply.name}"] += 1
        if then.note is not None:
            counts["note"] += 1
        if then.spam:
            counts["spam"] += 1
        if then.hook is not None:
            counts["hook"] += 1
    return RuleReplay(
        rule=rule.name,
        event=rule.on,
        matched=len(rows),
        changes=tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
        sample_ids=tuple(r[0] for r in rows[:SAMPLES]),
    )


def _tags(conn: Db, tags: list[str]) -> dict[int, set[str]]:
    """Which of ``tags`` each conversation has (only conversations with one of them)."""
    if not tags:
        return {}
    placeholders = ", ".join("?" * len(tags))
    found: dict[int, set[str]] = {}
    for conversation_id, tag in conn.execute(
        f"SELECT conversation_id, tag FROM conversation_tags WHERE tag IN ({placeholders})",
        tags,
    ):
        found.setdefault(conversation_id, set()).add(tag)
    return found


def _planned_assignees(conn: Db, rule: Rule, unassigned: list[int]) -> dict[int, str]:
    """Whom each unassigned conversation would go to, oldest first, as the rule would
    choose in turn (a rule never takes a conversation an agent holds)."""
    assignment = rule.then.assign
    if assignment is None:
        return {}
    planned: dict[int, str] = {}
    members = assignment.members
    if assignment.kind == "round_robin":
        row = conn.execute(
            "SELECT last_agent FROM rule_rotation WHERE team = ?", (assignment.name,)
        ).fetchone()
        last = row[0] if row else None
        for conversation_id in reversed(unassigned):
            last = next_in_turn(members, last)
            planned[conversation_id] = last
    elif assignment.kind == "least_busy":
        load = Counter(active_counts(conn, members))
        for conversation_id in reversed(unassigned):
            chosen = min(members, key=lambda m: (load[m], members.index(m)))
            load[chosen] += 1
            planned[conversation_id] = chosen
    else:
        planned = dict.fromkeys(unassigned, assignment.name)
    return planned
