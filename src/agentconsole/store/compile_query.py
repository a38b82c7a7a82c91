"""The query language compiled to one SQL condition on conversations (alias ``c``).

Every consumer — the sidebar views and their counts, ``list``, ``search``, the TUI's ``/``,
and later rules and SLA policies — selects with this one condition, so a view means the same
thing everywhere. Values are always bound parameters; what differs between databases is in
:mod:`.dialect`.

Semantics worth knowing (also in ``agentconsole help query``):
- adjacent free words (and ``subject:`` terms) are one full-text match: all of them in one
  message, as ``search`` always did; ``-word`` means no message of the conversation has it;
- every field condition is two-valued (never SQL NULL), so ``-assignee:bob`` includes
  unassigned conversations and ``-waiting:>4h`` includes ones nobody waits on;
- durations compare ages: ``waiting:>4h`` is "waiting for more than 4 hours"; ``=`` reads as
  "at least"; nobody waits on a closed conversation (``is:waiting``, ``waiting:``);
- ``before:``/``after:`` compare the conversation's last message;
- spam is hidden: a query without an ``is:spam`` (or ``-is:spam``) or an ``id:`` term
  selects no conversation marked spam.
- ``sla:`` reads the due times the store keeps (see :mod:`.sla_sql`), compared with now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from ..models import STATUSES, field, mutable_record, record
from ..query import MATCH_ALL, And, Assignee, Field, Node, Not, Or, Party, Text, all_of, walk
from .db import Db
from .dialect import Dialect
from .redirects import NOT_REDIRECTED

#: The condition that matches every conversation.
TRUE = "1 = 1"
#: A full-text term matching more messages than this is checked conversation by conversation
#: while the queue is walked in order; a rarer one is listed first. Measured on 20,000
#: conversations: listing 54,000 matches costs ~100 ms, checking row by row 4-15 ms; for a
#: word in 78 messages listing takes 4 ms and checking row by row a second.
LIST_MATCHES_BELOW = 5000
#: A field condition matching at least this many conversations is checked while the queue's
#: order index is walked, not looked up in its own index and sorted. Measured on 100,000
#: conversations: ``is:unassigned`` top 50 took 43-58 ms sorted from the assignee index and
#: 0.1 ms walking the order; a value held by nobody took 117 ms walked, 0.1 ms looked up.
WALK_ORDER_FROM = 1000
#: Conversations someone may still be waiting on.
OPEN_ENDED = "c.status != 'closed'"
#: Not marked spam: every query but one about spam has it. Spelt as a lookup in the small
#: partial index of spam ids, so a count keeps reading only its covering index (``c.spam =
#: 0`` would read every row: 21 ms -> 250 ms for "status:open" on 100,000 conversations).
NOT_SPAM = "c.id NOT IN (SELECT id FROM conversations WHERE spam = 1)"
#: What a count leaves out: merged conversations, and spam unless the query asks about it.
#: Spelt as the flags themselves, which the counting indexes (partial, migration 018) leave
#: out and list, so a count reads one range of an index and no row: probing the redirect
#: list per counted row doubled "All open" (3.8 -> 7.2 ms at 100,000 conversations).
COUNTED = "c.redirected = 0 AND c.spam = 0"
COUNTED_SPAM = "c.redirected = 0"


#: The rows a tag's size is counted from: its own, in migration 018's covering index of
#: tag rows (spam and merged ones left out), so sizing reads no conversation (0.06 ms; as
#: a condition on conversations it listed the tag and read 1,000 rows: 3-13 ms).
TAG_ROWS = "conversation_tags t"
#: A tag's rows counted in :data:`TAG_ROWS` (``?`` is the tag).
TAG_HELD = "t.tag = ? AND t.spam = 0 AND t.redirected = 0"


class RowCounter(Protocol):
    """How many rows of ``source`` (``conversations c`` unless told) match ``condition``
    with ``params``, counted up to :data:`WALK_ORDER_FROM`."""

    def __call__(
        self, condition: str, params: tuple[object, ...], source: str = "conversations c"
    ) -> int: ...


@record
class Compiled:
    """A condition for ``WHERE`` and its parameters, in order."""

    where: str
    params: tuple[object, ...] = ()


@mutable_record
class _Builder:
    agent: str
    now: float
    dialect: Dialect
    estimate: Callable[[str], int] | None
    rows: RowCounter | None = None
    #: Checked on a few given conversations: subqueries are correlated (see compile_query).
    per_row: bool = False
    #: Inside an AND beside a ``tag:`` term: the tag's list drives (see :func:`_group`).
    tag_drives: bool = False
    #: Compiled for a count (see :func:`compile_count`): spam is the flag, not a list.
    counting: bool = False
    #: How many ``tag:`` terms the whole query holds (see :func:`_field`).
    tags: int = 0
    params: list[object] = field(default_factory=list)

    def bind(self, value: object) -> str:
        self.params.append(value)
        return "?"

    def term(self, node: Node) -> str:
        """One full-text term of a word, a phrase or a ``subject:`` value."""
        if isinstance(node, Text):
            return self.dialect.fts_term(
                node.word, phrase=node.phrase, prefix=node.prefix, column=None
            )
        assert isinstance(node, Field)
        words = str(node.value)
        return self.dialect.fts_term(words, phrase=" " in words, prefix=False, column="subject")


def compile_query(
    node: Node,
    *,
    agent: str,
    now: float,
    dialect: Dialect,
    estimate: Callable[[str], int] | None = None,
    rows: RowCounter | None = None,
    hide_spam: bool = True,
    per_row: bool = False,
) -> Compiled:
    """``node`` as one condition on ``conversations c``. ``agent`` is who ``me`` is;
    ``now`` (a Unix time) anchors durations. ``estimate`` counts the messages a full-text
    expression matches (up to :data:`LIST_MATCHES_BELOW`), to pick how words are matched;
    without it, the matches are listed first. ``rows`` (for a query that wants its first
    rows in the queue's order) counts the conversations a condition matches (a tag: its
    rows), up to :data:`WALK_ORDER_FROM`: a condition matching that many leaves its index
    alone, so the queue's order index is walked and the first rows come at once instead of
    after a sort — the words beside it checked on the walked rows its fields let through.
    ``hide_spam`` off (the store holds no spam: nothing to hide) leaves spam's condition
    out. ``per_row``: the condition is checked on a few given conversations (the ones a
    write changed), not used to list many: tag and full-text terms look up each
    conversation's own rows instead of listing every match first."""
    builder = _Builder(agent, now, dialect, estimate, rows, per_row)
    builder.tags = sum(1 for term in walk(node) if _is_tag(term))
    where = _node(builder, node)
    if hide_spam and not asks_for_spam(node):
        where = f"({where}) AND {NOT_SPAM}"
    # A conversation merged into another is reached through the one it points to only.
    return Compiled(f"{NOT_REDIRECTED} AND ({where})", tuple(builder.params))


def asks_for_spam(node: Node) -> bool:
    """Whether a query chose about spam itself (``is:spam``, ``-is:spam``) or names a
    conversation (``id:``, shown whatever it is)."""
    return any(
        isinstance(term, Field)
        and (term.name == "id" or (term.name == "is" and term.value == "spam"))
        for term in walk(node)
    )


def compile_for_ids(
    node: Node,
    ids: Sequence[int],
    *,
    agent: str,
    now: float,
    dialect: Dialect,
    estimate: Callable[[str], int] | None = None,
) -> Compiled:
    """``node`` restricted to the conversations ``ids`` (a rule checked against the ones a
    batch just touched): ``c.id IN (…) AND condition``. ``estimate`` decides how full-text
    terms are matched, as for :func:`compile_query` — :func:`ids_estimator` sizes it for a
    few conversations. ``ids`` must not be empty."""
    assert ids, "a condition on no conversation"
    inner = compile_query(node, agent=agent, now=now, dialect=dialect, estimate=estimate)
    placeholders = ", ".join("?" * len(ids))
    return Compiled(f"c.id IN ({placeholders}) AND {inner.where}", (*ids, *inner.params))


def compile_count(
    node: Node,
    *,
    agent: str,
    now: float,
    dialect: Dialect,
    estimate: Callable[[str], int] | None = None,
) -> Compiled:
    """The whole statement counting the conversations ``node`` matches — the same ones
    :func:`compile_query` selects — in :attr:`Compiled.where`, and its parameters.

    Merged conversations and (unless the query asks about spam) spam are left out through
    their flags, which the counting indexes leave out (migration 018), so a count of a
    status, an assignee or a channel reads one range of an index. A tag with at most
    statuses beside it (a tag view) is counted from the tag's rows, which carry their
    conversation's status and flags: reading each tagged conversation's row cost 11 ms a
    tag view at 100,000 conversations."""
    by_tag = _tag_count(node)
    if by_tag is not None:
        return by_tag
    builder = _Builder(agent, now, dialect, estimate, counting=True)
    where = _node(builder, node)
    hidden = COUNTED_SPAM if asks_for_spam(node) else COUNTED
    return Compiled(
        f"SELECT count(*) FROM conversations c WHERE ({where}) AND {hidden}",
        tuple(builder.params),
    )


def _tag_count(node: Node) -> Compiled | None:
    """The count of a tag alone or with status terms (``tag:vip (status:open OR
    status:pending)``), read from the tag's rows; ``None`` for any other query."""
    terms = node.terms if isinstance(node, And) else (node,)
    tags = [term for term in terms if _is_tag(term)]
    if len(tags) != 1:
        return None
    statuses = set(STATUSES)
    for term in terms:
        if term is not tags[0]:
            allowed = _statuses(term)
            if allowed is None:
                return None
            statuses &= allowed
    assert isinstance(tags[0], Field)
    params: list[object] = [_tag_value(tags[0])]
    where = "t.tag = ?"
    if not statuses:
        where += " AND 0 = 1"
    elif len(statuses) < len(STATUSES):
        ordered = [status for status in STATUSES if status in statuses]
        where += f" AND t.status IN ({', '.join('?' * len(ordered))})"
        params += ordered
    counted = "t.spam = 0 AND t.redirected = 0"
    return Compiled(
        f"SELECT count(*) FROM conversation_tags t WHERE {where} AND {counted}", tuple(params)
    )


def _statuses(node: Node) -> set[str] | None:
    """The statuses a ``status:`` term or an OR of them lets through; ``None`` for any
    other term."""
    if isinstance(node, Field) and node.name == "status" and node.op == "=":
        return set(STATUSES) if node.value == "any" else {str(node.value)}
    if isinstance(node, Or):
        found: set[str] = set()
        for term in node.terms:
            allowed = _statuses(term)
            if allowed is None:
                return None
            found |= allowed
        return found
    return None


#: Checking one message against a full-text expression costs about as much as listing this
#: many matches of it (measured on SQLite FTS5: ~40 µs a check, ~2 µs a listed match).
CHECK_COST_IN_MATCHES = 20


def ids_estimator(conn: Db, messages: int) -> Callable[[str], int]:
    """An ``estimate`` for :func:`compile_for_ids` over conversations holding ``messages``
    messages: a full-text term is listed when it has fewer matches in the whole store than
    checking those messages one by one would cost, else checked message by message. The
    count is capped there, so sizing costs no more than the listing it saves; each
    expression is counted once per estimator."""
    cap = max(LIST_MATCHES_BELOW, CHECK_COST_IN_MATCHES * messages)
    dialect = conn.dialect
    known: dict[str, int] = {}

    def estimate(expression: str) -> int:
        if expression not in known:
            row = conn.execute(dialect.estimate_sql, (expression, cap)).fetchone()
            known[expression] = LIST_MATCHES_BELOW if int(row[0]) >= cap else 0
        return known[expression]

    return estimate


def split_text(node: Node) -> tuple[list[Node], Node]:
    """(the words and ``subject:`` terms a message must hold, the rest of the query): the
    top-level terms a message-level search matches in the full-text index, and the
    conditions left for its conversation. ``([], node)`` when the query has no such term."""
    terms = node.terms if isinstance(node, And) else (node,)
    textual = [t for t in terms if _is_textual(t)]
    rest = [t for t in terms if not _is_textual(t)]
    return textual, (all_of(*rest) if rest else MATCH_ALL)


def text_expression(nodes: list[Node], dialect: Dialect) -> str:
    """The full-text expression all of ``nodes`` (words, phrases, ``subject:``) make
    together; empty when none holds anything the index stores."""
    builder = _Builder("", 0.0, dialect, None)
    terms = [builder.term(node) for node in nodes]
    return dialect.fts_join([t for t in terms if t], "AND")


def row_counter(conn: Db) -> RowCounter:
    """A ``rows`` for :func:`compile_query`: how many conversations (or rows of another
    ``source``) a condition matches, counted up to :data:`WALK_ORDER_FROM` (so it stays
    cheap)."""

    def rows(condition: str, params: tuple[object, ...], source: str = "conversations c") -> int:
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {condition} LIMIT ?) found"
        return int(conn.execute(sql, (*params, WALK_ORDER_FROM)).fetchone()[0])

    return rows


def estimator(conn: Db) -> Callable[[str], int]:
    """An ``estimate`` for :func:`compile_query` reading the full-text index through
    ``conn``."""
    dialect = conn.dialect

    def estimate(expression: str) -> int:
        row = conn.execute(dialect.estimate_sql, (expression, LIST_MATCHES_BELOW)).fetchone()
        return int(row[0])

    return estimate


def _node(b: _Builder, node: Node) -> str:
    if isinstance(node, And):
        return _group(b, node.terms, "AND")
    if isinstance(node, Or):
        return _group(b, node.terms, "OR")
    if isinstance(node, Not):
        return f"NOT ({_node(b, node.term)})"
    if _is_textual(node):
        return _text_match(b, [node], "AND")
    assert isinstance(node, Field)
    return _field(b, node)


def _group(b: _Builder, terms: tuple[Node, ...], operator: str) -> str:
    if not terms:
        return TRUE
    statuses = [t.value for t in terms if isinstance(t, Field) and t.name == "status"]
    if operator == "OR" and len(statuses) == len(terms) > 1 and "any" not in statuses:
        # One list, not an OR: with the terms beside it ("channel:x", "assignee:me") and
        # spam it is one range of their index per status, read without the rows.
        status = "+c.status" if b.tag_drives else "c.status"
        return f"{status} IN ({', '.join(b.bind(value) for value in statuses)})"
    # Free words side by side are one full-text match (one index lookup, not one per word).
    # SQLite evaluates an AND left to right: the cheap field conditions go first, so the
    # full-text check runs only on conversations they let through.
    textual = [t for t in terms if _is_textual(t)]
    # A tag's conversations are few next to a status's: SQLite's planner, knowing no
    # sizes, would walk every open conversation in the status index and probe the tag's
    # list for each (15-20 ms a tag view at 100,000 conversations); with the status
    # terms beside a tag kept off their index, the tag's list drives. Not for a first
    # screen in queue order (``rows``): walking the order index finds its rows sooner.
    outer = b.tag_drives
    if operator == "AND" and b.dialect.index_hints and not b.per_row and b.rows is None:
        b.tag_drives = outer or any(_is_tag(t) for t in terms)
    parts = [_node(b, t) for t in terms if not _is_textual(t)]
    b.tag_drives = outer
    if textual:
        parts.append(_text_match(b, textual, operator))
    parts = [p for p in parts if p]
    if not parts:
        return TRUE
    return parts[0] if len(parts) == 1 else "(" + f" {operator} ".join(parts) + ")"


def _tag_value(node: Field) -> str:
    """The tag a ``tag:`` term names, as the store keeps tags."""
    return str(node.value).strip().lower()


def _is_tag(node: Node) -> bool:
    return isinstance(node, Field) and node.name == "tag"


def _is_textual(node: Node) -> bool:
    return isinstance(node, Text) or (isinstance(node, Field) and node.name == "subject")


def _text_match(b: _Builder, nodes: list[Node], operator: str) -> str:
    terms = [term for term in (b.term(node) for node in nodes) if term]
    if not terms:
        # Only punctuation: nothing the index holds, so nothing can match.
        return "0 = 1" if operator == "AND" else ""
    expression = b.dialect.fts_join(terms, operator)
    common = b.per_row or (b.estimate is not None and b.estimate(expression) >= LIST_MATCHES_BELOW)
    b.bind(expression)
    return b.dialect.text_match(correlated=common)


def _field(b: _Builder, node: Field) -> str:
    name, op, value = node.name, node.op, node.value
    if name == "status":
        status = "+c.status" if b.tag_drives else "c.status"  # unary plus: not its index
        return TRUE if value == "any" else f"{status} = {b.bind(value)}"
    if name == "id":
        return f"c.id = {b.bind(value)}"
    start = len(b.params)
    if name == "channel":
        condition = f"c.channel_id IN (SELECT id FROM channels WHERE name = {b.bind(value)})"
        return _walkable(b, condition, start, "c.channel_id")
    if name == "type":
        condition = f"c.channel_id IN (SELECT id FROM channels WHERE kind = {b.bind(value)})"
        return _walkable(b, condition, start, "c.channel_id")
    if name == "tag":
        tag = _tag_value(node)
        if b.per_row:
            return (
                "EXISTS (SELECT 1 FROM conversation_tags t WHERE t.conversation_id = c.id"
                f" AND t.tag = {b.bind(tag)})"
            )
        condition = (
            f"c.id IN (SELECT conversation_id FROM conversation_tags WHERE tag = {b.bind(tag)})"
        )
        if b.rows is None or not b.dialect.index_hints or b.tags > 1:
            # (Two tags' lists may share no conversation: a walk would then read the whole
            # order index, 100 ms at 100,000 conversations, where listing reads 30 ms.)
            return condition
        # A common tag is probed while the queue's order index is walked, as the other
        # fields are: listed, each tagged conversation was read, checked for the words
        # beside it and sorted ("refund tag:billing" 2 s, "tag:vip" 12 ms at 100,000).
        if b.rows(TAG_HELD, (tag,), TAG_ROWS) < WALK_ORDER_FROM:
            return condition
        return "+" + condition  # unary plus: not the rowid lookup, so the list is probed
    if name == "assignee":
        if value is Assignee.NOBODY:
            return _walkable(b, "c.assignee IS NULL", start, "c.assignee")
        who = b.agent if value is Assignee.ME else str(value)
        condition = f"(c.assignee IS NOT NULL AND c.assignee = {b.bind(who)})"
        return _walkable(b, condition, start, "c.assignee")
    if name == "priority":
        return f"c.priority {op} {b.bind(value)}"
    if name in ("waiting", "age", "updated"):
        column = {"waiting": "c.waiting_since", "age": "c.created_at", "updated": "c.updated_at"}
        assert isinstance(value, int | float)
        return _age(b, column[name], op, float(value))
    if name == "before":
        return f"c.last_message_at < {b.bind(value)}"
    if name == "after":
        return f"c.last_message_at >= {b.bind(value)}"
    if name == "is":
        return _is(b, str(value))
    if name == "sla":
        return _sla(b, op, value)
    if name == "has":
        if value == "attachment":
            return (
                "EXISTS (SELECT 1 FROM messages m JOIN attachments a ON a.message_id = m.id"
                " WHERE m.conversation_id = c.id)"
            )
        if b.per_row:
            return (
                "EXISTS (SELECT 1 FROM drafts d WHERE d.conversation_id = c.id"
                f" AND d.agent = {b.bind(b.agent)} AND trim(d.body) != '')"
            )
        # The agent's few drafts, listed: checked row by row, "Needs attention" read every
        # conversation (250 ms at 100,000); listed, its OR is three index lookups.
        return (
            "c.id IN (SELECT conversation_id FROM drafts WHERE agent ="
            f" {b.bind(b.agent)} AND trim(body) != '')"
        )
    if name == "from":
        assert isinstance(value, Party)
        return f"c.contact_id IN ({_contacts_named(b, value)})"
    if name == "contact":
        if isinstance(value, int):
            return f"c.contact_id = {b.bind(value)}"
        by_address = _contacts_named(b, Party(str(value), "address"))
        return f"c.contact_id IN ({by_address})"
    if name == "to":
        assert isinstance(value, Party)
        return _addressed_to(b, value)
    raise AssertionError(f"the compiler does not know field {name!r}")  # the parser does


def _age(b: _Builder, column: str, op: str, seconds: float) -> str:
    """``column`` (a time) is more (``>``) or less (``<``) than ``seconds`` ago."""
    threshold = b.bind(b.now - seconds)
    compare = {">": "<", ">=": "<=", "=": "<=", "<": ">", "<=": ">="}[op]
    condition = f"{column} IS NOT NULL AND {column} {compare} {threshold}"
    # Nobody waits on a closed conversation, even when the customer's "thanks" came last.
    return f"({condition} AND {OPEN_ENDED})" if column == "c.waiting_since" else f"({condition})"


def _sla(b: _Builder, op: str, value: object) -> str:
    """``sla:breached`` (a target missed, or the current one past due now), ``sla:paused``
    (a policy applies, its clock stopped: pending) and ``sla:due<DURATION`` (falls due
    within it — past due included — or, with ``>``, later)."""
    if value == "breached":
        return f"(c.sla_breached = 1 OR (c.sla_due_at IS NOT NULL AND c.sla_due_at <= {b.bind(b.now)}))"
    if value == "paused":
        return "(c.sla_policy IS NOT NULL AND c.status = 'pending')"
    assert isinstance(value, int | float)
    return f"(c.sla_due_at IS NOT NULL AND c.sla_due_at {op} {b.bind(b.now + float(value))})"


def _walkable(b: _Builder, condition: str, start: int, column: str) -> str:
    """``condition`` as it is, or — when the query wants its first rows in order and the
    condition matches many conversations — with ``column`` kept off its index, so the
    planner walks the queue's order index instead of sorting."""
    if b.rows is None or not b.dialect.index_hints:
        return condition
    if b.rows(condition, tuple(b.params[start:])) < WALK_ORDER_FROM:
        return condition
    return condition.replace(column, "+" + column)  # unary plus: SQLite's "not this index"


def _is(b: _Builder, value: str) -> str:
    start = len(b.params)
    if value == "unassigned":
        return _walkable(b, "c.assignee IS NULL", start, "c.assignee")
    if value == "mine":
        condition = f"(c.assignee IS NOT NULL AND c.assignee = {b.bind(b.agent)})"
        return _walkable(b, condition, start, "c.assignee")
    if value == "snoozed":
        return "c.status = 'snoozed'"
    if value == "waiting":
        return f"(c.waiting_since IS NOT NULL AND {OPEN_ENDED})"
    if value == "spam":
        # Listed from the small partial index of spam ids; a count reads the flag, which
        # its own partial index lists with the redirect flag beside it.
        if b.counting:
            return "c.spam = 1"
        return "c.id IN (SELECT id FROM conversations WHERE spam = 1)"
    if value == "answered":
        # The customer wrote after a reply of this agent: waiting, and one of the agent's
        # replies is older than the wait — one probe of migration 020's index of agents'
        # replies per waiting conversation (reading each one's messages instead cost
        # 0.3-0.4 s at 100,000 conversations, on every hotlist read).
        return (
            f"(c.waiting_since IS NOT NULL AND {OPEN_ENDED} AND EXISTS (SELECT 1 FROM"
            " messages m WHERE m.conversation_id = c.id AND m.direction = 'out'"
            f" AND m.agent = {b.bind(b.agent)} AND m.sent_at <= c.waiting_since))"
        )
    if value == "broken":
        return "c.channel_id IN (SELECT id FROM channels WHERE health = 'error')"
    # failed: a reply that could not be sent (few rows: read the outbox, not every thread)
    return (
        "c.id IN (SELECT m.conversation_id FROM outbox o JOIN messages m ON m.id = o.message_id"
        " WHERE o.state = 'failed')"
    )


def _contacts_named(b: _Builder, party: Party) -> str:
    """The ids of contacts an address, a domain or a name fragment designates."""
    if party.kind == "address":
        return f"SELECT contact_id FROM identities WHERE address = {b.bind(party.text.lower())}"
    if party.kind == "domain":
        b.bind("%@" + _like_escape(party.text.lower()))
        return f"SELECT contact_id FROM identities WHERE {b.dialect.contains('address')}"
    pattern = "%" + _like_escape(party.text) + "%"
    by_address = f"SELECT contact_id FROM identities WHERE {b.dialect.contains('address')}"
    b.bind(pattern)
    by_name = f"SELECT id FROM contacts WHERE {b.dialect.contains('name')}"
    b.bind(pattern)
    return f"{by_address} UNION {by_name}"


def _addressed_to(b: _Builder, party: Party) -> str:
    """Conversations with a message addressed (To/Cc) to the party — the participants each
    message recorded as a JSON list of ``[namespace, address]`` pairs."""
    text = party.text.lower()
    if party.kind == "address":
        pattern = '%"' + _like_escape(text) + '"%'
    elif party.kind == "domain":
        pattern = "%@" + _like_escape(text) + '"%'
    else:
        pattern = "%" + _like_escape(text) + "%"
    condition = b.dialect.contains("m.participants")
    b.bind(pattern)
    return (
        "EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id"
        f" AND m.participants IS NOT NULL AND {condition})"
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
