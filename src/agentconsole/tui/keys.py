"""Textual bindings built from :data:`agentconsole.keymap.ACTIONS`.

Every binding carries its action id as its Textual binding id, so the user's ``[keys]``
table becomes the app's keymap (:meth:`textual.app.App.set_keymap`) and remaps any of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.binding import Binding, BindingType
from textual.dom import DOMNode

from .. import keymap

#: Binding id -> Textual action name, where they differ (the rest use the id itself).
ACTION_NAMES: dict[str, str] = {
    "open": "open_conversation",
    "close": "close_conversation",
    "yes": "answer(True)",
    "no": "answer(False)",
    "send": "send(None)",
    "send_close": "send('close')",
    "send_pending": "send('pending')",
}


def bindings(
    scope: str, *, only: tuple[str, ...] = (), priority: bool = False
) -> list[BindingType]:
    """The bindings of one scope of the keymap (``only`` narrows them to some ids)."""
    return [
        Binding(
            action.keys,
            ACTION_NAMES.get(action.id, action.id),
            action.description,
            show=action.show,
            id=action.id,
            priority=priority,
        )
        for action in keymap.ACTIONS
        if (action.scope == scope and not only) or action.id in only
    ]


def overrides(effective: Mapping[str, str]) -> dict[str, str]:
    """The keymap to hand Textual: only the ids whose keys differ from the defaults.

    ``config.keys`` lists every id; applying unchanged ones would make Textual report
    clashes between bindings that merely keep their own keys.
    """
    return {
        action_id: keys
        for action_id, keys in effective.items()
        if action_id in keymap.BY_ID and keys != keymap.BY_ID[action_id].keys
    }


def keys_of(node: DOMNode, binding_id: str) -> str:
    """The keys bound to ``binding_id`` as the agent sees them (``y / enter``), the user's
    ``[keys]`` applied: for hints written on screen, so they never name a remapped key."""
    app = node.app
    keys = app._keymap.get(binding_id) or keymap.BY_ID[binding_id].keys
    return " / ".join(app.get_key_display(Binding(key.strip(), "")) for key in keys.split(","))
