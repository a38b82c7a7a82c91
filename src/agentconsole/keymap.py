"""Every key binding of the TUI, by id. Users remap them in ``[keys]`` of the config.

Kept free of Textual so the config can be validated (and ``--help`` printed) without it.
A value is a comma-separated list of Textual key names: ``"j,down"``, ``"ctrl+p"``.
"""

from __future__ import annotations

from .models import record


@record
class KeyAction:
    """One binding: its id (the ``[keys]`` name), its default keys and its help line."""

    id: str
    keys: str
    description: str
    #: Where it applies: "app" (everywhere), "queue", "conversation", "composer", or one of
    #: the modal screens: "prompt" (a question), "confirm" (yes/no), "help", "report",
    #: "audit" (a conversation's audit log), "picker" (saved replies), "rules" (their replay).
    scope: str
    #: Shown in the footer.
    show: bool = True


ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("cursor_down", "j,down", "Next conversation", "queue", show=False),
    KeyAction("cursor_up", "k,up", "Previous conversation", "queue", show=False),
    KeyAction("page_down", "pagedown,ctrl+d", "Page down", "queue", show=False),
    KeyAction("page_up", "pageup,ctrl+u", "Page up", "queue", show=False),
    KeyAction("first", "home,g", "First conversation", "queue", show=False),
    KeyAction("last", "end,G", "Last conversation", "queue", show=False),
    KeyAction("open", "enter", "Open", "queue"),
    KeyAction("next_view", "J,tab", "Next view", "app", show=False),
    KeyAction("previous_view", "K,shift+tab", "Previous view", "app", show=False),
    KeyAction("reply", "r", "Reply", "conversation"),
    KeyAction("note", "n", "Note", "conversation"),
    KeyAction("editor", "e", "Reply in $EDITOR", "conversation", show=False),
    KeyAction("assign_me", "a", "Assign to me", "conversation"),
    KeyAction("snooze", "s", "Snooze", "conversation"),
    KeyAction("close", "c", "Close", "conversation"),
    KeyAction("reopen", "o", "Reopen", "conversation"),
    KeyAction("tag", "t", "Tag", "conversation"),
    KeyAction("priority", "p", "Priority", "conversation"),
    KeyAction("retry", "R", "Retry failed reply", "conversation", show=False),
    KeyAction("save_attachment", "w", "Save an attachment", "conversation", show=False),
    KeyAction(
        "toggle_quotes",
        "z",
        "Show / fold quoted text and long bodies",
        "conversation",
        show=False,
    ),
    KeyAction("view_source", "v", "The original message in $PAGER", "conversation", show=False),
    KeyAction("link_contact", "L", "Link the contact with another", "conversation", show=False),
    KeyAction("unlink_contact", "U", "Undo the contact's last link", "conversation", show=False),
    # -- many at once (bulk actions) and saved views --
    KeyAction("mark", "space", "Mark / unmark, then next", "queue", show=False),
    KeyAction("mark_all", "asterisk", "Mark all in the view", "queue", show=False),
    KeyAction("pending", "P", "Set pending", "conversation", show=False),
    KeyAction("assign_to", "A", "Assign to a colleague…", "conversation", show=False),
    KeyAction("undo", "u", "Undo the last change", "conversation", show=False),
    KeyAction("save_view", "S", "Save the search as a view", "conversation", show=False),
    KeyAction(
        "spam",
        "B",
        "Spam, blocking the sender (again on spam: not spam)",
        "conversation",
        show=False,
    ),
    # -- end of many at once --
    # -- threading by hand: merge, split, move, and why a message is where it is --
    KeyAction("merge", "m", "Merge into another conversation", "conversation", show=False),
    KeyAction("split", "x", "Split the conversation at this message", "conversation", show=False),
    KeyAction(
        "move_message", "ctrl+x", "Move this message to another conversation", "conversation", False
    ),
    KeyAction("thread_reasons", "i", "Show / hide why each message is here", "conversation", False),
    KeyAction("unassign", "D", "Unassign", "conversation", show=False),
    KeyAction("audit", "l", "Audit log of the conversation", "conversation", show=False),
    KeyAction(
        "contact_conversations",
        "C",
        "The contact's other conversations",
        "conversation",
        show=False,
    ),
    KeyAction("next_urgent", "exclamation_mark", "Urgent: what needs you most", "app"),
    KeyAction("toggle_sidebar", "backslash", "Hide / show the sidebar", "app", show=False),
    KeyAction("search", "slash", "Search", "app"),
    KeyAction("command_palette", "ctrl+p", "Commands", "app", show=False),
    KeyAction("help", "question_mark", "Help", "app"),
    KeyAction("report", "M", "Report: backlog, response times, SLA", "app", show=False),
    KeyAction("rules", "W", "Rules: replay one on the history", "app", show=False),
    KeyAction("back", "escape", "Back", "app", show=False),
    KeyAction("send", "ctrl+s", "Send", "composer"),
    KeyAction("send_close", "ctrl+g", "Send+close, then the next", "composer"),
    KeyAction("send_pending", "ctrl+t", "Send+pending, then the next", "composer"),
    KeyAction("attach", "ctrl+o", "Attach a file", "composer"),
    KeyAction("quit", "q", "Quit", "app"),
    KeyAction("cancel", "escape", "Cancel", "prompt", show=False),
    KeyAction("yes", "y,enter", "Yes", "confirm"),
    KeyAction("no", "n,escape", "No", "confirm"),
    KeyAction("close_help", "escape,q,question_mark", "Close help", "help"),
    KeyAction("close_report", "escape,q,M", "Close the report", "report"),
    KeyAction("close_audit", "escape,q,l", "Close the audit log", "audit"),
    KeyAction("close_rules", "escape,q,W", "Close the rules", "rules"),
    # Saved replies: the composer's key opens the picker ("picker": its own keys).
    KeyAction("insert_reply", "ctrl+r", "Insert a saved reply", "composer", show=False),
    KeyAction("picker_down", "down", "Next saved reply", "picker", show=False),
    KeyAction("picker_up", "up", "Previous saved reply", "picker", show=False),
    KeyAction("close_picker", "escape", "Close the picker", "picker"),
)

BY_ID: dict[str, KeyAction] = {action.id: action for action in ACTIONS}


def resolve(overrides: dict[str, str]) -> dict[str, str]:
    """The key list of every action id, with the user's overrides applied (ids checked by
    the config loader)."""
    return {action.id: overrides.get(action.id, action.keys) for action in ACTIONS}
