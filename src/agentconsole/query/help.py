"""``agentconsole help query``: the grammar and examples, as plain text.

The field lines come from :data:`~agentconsole.query.fields.FIELDS`, so help lists exactly
what the parser accepts.
"""

from __future__ import annotations

from .fields import FIELDS

_INTRO = """\
Query language

A query finds conversations. Terms side by side must all match (AND); OR, in capitals,
matches either side; -term or -(group) excludes; parentheses group. '-' binds tightest,
then AND, then OR, so  a OR b c  means  a OR (b AND c).  An empty query matches all.

Words
  refund                   a word in a message (accents and case ignored)
  "card declined"          a phrase
  subscr*                  a prefix: subscribe, subscription…
  #338                     one conversation

Fields (names and choices in any case; a value with spaces in "quotes")"""

_OUTRO = """\
Values
  Durations: 90 (seconds), 30s, 30m, 4h, 2d, 1w; they need an OP
  (waiting:>4h: waiting more than four hours).
  Dates: today, yesterday, tomorrow, mon…sun (the most recent one, today included),
  2026-11-01, "2026-11-01 10:00", "yesterday 9am"; a day alone means its start,
  00:00 in your time zone.
  Priorities: low < normal < high < urgent (priority:>=high: high or urgent).
  assignee:me is whoever runs the query (a shared view means each agent's own);
  assignee:none and is:unassigned: nobody is assigned.
  Inside quotes, \\" is a quote and \\\\ a backslash. To search for text that looks
  like a field (http://…), quote it.

Meaning
  Words side by side must all be in one message of the conversation; -word: no
  message has it. search lists those messages, list and views the conversations.
  -assignee:bob includes unassigned conversations; -waiting:>4h includes those
  nobody waits on. Nobody waits on a closed conversation (is:waiting, waiting:).
  before: and after: compare the conversation's last message.
  sla: reads the due times of the [[sla]] policies in your config: sla:due<1h
  includes conversations already past due (add -sla:breached to leave them out).

Examples
  status:open assignee:none                unassigned and open
  tag:billing priority:>=high              billing, high or urgent
  from:@acme.example -status:closed        everything from one company, not closed
  is:waiting waiting:>4h                   customers waiting more than four hours
  (tag:outage OR tag:incident) -is:mine    outage work someone else may take
  "card declined" after:mon                a phrase, last message this week
  subject:"refund request" has:attachment  by subject, with a file
  sla:due<1h -sla:breached                 due within the hour, not late yet"""


#: Where a field's summary starts; a longer syntax puts its summary on the next line.
_COLUMN = 27


def help_text() -> str:
    """The help for the query language: grammar, every field, values and examples."""
    lines = [_INTRO]
    for spec in FIELDS.values():
        if len(spec.syntax) < _COLUMN - 2:
            lines.append(f"  {spec.syntax.ljust(_COLUMN - 2)}{spec.summary}")
        else:
            lines += [f"  {spec.syntax}", f"{' ' * _COLUMN}{spec.summary}"]
    lines += ["  (OP: <, <=, >, >= or =)", "", _OUTRO]
    return "\n".join(lines) + "\n"
