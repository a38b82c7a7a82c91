"""The queue's views, each defined by a query: what "Mine" or a tag view means is written
here once, and the sidebar, its counts, ``list`` and ``views`` all read it from here.

Headless (no Textual, no Rich). The built-in views, one per channel and one per tag are
below; personal views come from the config and shared ones from the store, all the same
shape (a query and an order).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from .models import View, record
from .query import parse_field, to_query

#: How a view's conversations are ordered: most urgent first (then the customer waiting
#: longest), most recent activity first, waiting longest first, or next to wake first.
Order = Literal["urgent", "recent", "waiting", "snooze"]
ORDERS: tuple[Order, ...] = ("urgent", "recent", "waiting", "snooze")
#: Still being worked on: what a channel's or a tag's view shows.
ACTIVE_QUERY = "(status:open OR status:pending)"


@record
class ViewDefinition:
    """A view: its sidebar key and label, the query it runs and the order of its rows."""

    key: str
    label: str
    query: str
    order: Order = "urgent"
    #: A key that jumps to the view in the console (personal and shared views may set one).
    shortcut: str | None = None
    #: ``built-in``, ``personal`` (the agent's config) or ``shared`` (the store, the team's).
    source: Literal["built-in", "personal", "shared"] = "built-in"


BUILT_IN: tuple[ViewDefinition, ...] = (
    ViewDefinition("mine", "Mine", f"assignee:me {ACTIVE_QUERY}"),
    ViewDefinition("unassigned", "Unassigned", "is:unassigned status:open"),
    ViewDefinition("open", "All open", "status:open"),
    ViewDefinition("pending", "Pending", "status:pending", "recent"),
    ViewDefinition("snoozed", "Snoozed", "status:snoozed", "snooze"),
    ViewDefinition("closed", "Closed", "status:closed", "recent"),
    # A reply that failed (even in a closed or pending conversation), an unsent draft of
    # yours (the conflict guard keeps a held reply as one), or a channel in error.
    ViewDefinition(
        "attention", "Needs attention", "status:any (is:failed OR has:draft OR is:broken)"
    ),
)
#: Conversations marked spam: every other view leaves them out (see ``is:spam``).
SPAM = ViewDefinition("spam", "Spam", "is:spam", "recent")
_BY_KIND = {definition.key: definition for definition in (*BUILT_IN, SPAM)}


def channel_view(name: str) -> ViewDefinition:
    return ViewDefinition(f"channel:{name}", name, f"{_term('channel', name)} {ACTIVE_QUERY}")


def tag_view(tag: str) -> ViewDefinition:
    return ViewDefinition(f"tag:{tag}", f"#{tag}", f"{_term('tag', tag)} {ACTIVE_QUERY}")


def _term(field: str, value: str) -> str:
    """``field:value``, quoted only when the value needs it."""
    return to_query(parse_field(field, value))


def definition(view: View) -> ViewDefinition:
    """The query behind a sidebar view (``search`` views run what was typed, most recent
    first; ``all`` is every conversation)."""
    if view.kind in _BY_KIND:
        return _BY_KIND[view.kind]
    if view.kind == "channel":
        return channel_view(view.arg)
    if view.kind == "tag":
        return tag_view(view.arg)
    if view.kind == "search":
        return ViewDefinition(view.key, "Search", view.arg, "recent")
    if view.kind == "all":
        return ViewDefinition("all", "All", "status:any", "recent")
    if view.kind == "query" and view.order in ORDERS:
        return ViewDefinition(view.key, view.key, view.query, view.order)
    raise ValueError(f"unknown view {view.key!r}")


def sidebar(
    personal: Iterable[ViewDefinition],
    shared: Iterable[ViewDefinition],
    channels: Iterable[str],
    tags: Iterable[str],
) -> list[ViewDefinition]:
    """Every view of the sidebar, in its order: built-in (Spam last of them), the agent's,
    the team's, one per channel, one per tag."""
    return [
        *BUILT_IN,
        SPAM,
        *personal,
        *shared,
        *(channel_view(name) for name in channels),
        *(tag_view(tag) for tag in tags),
    ]
