"""The footer: the keys of what has focus, fitted to the terminal's width so ``?`` Help
and ``q`` Quit always show.

Textual's footer lays the keys out in binding order and cuts what does not fit — at 80
columns the queue's footer ended at "Reop…" and help and quit were gone. This one puts help
and quit last but always in, and shortens the others to fit: first their descriptions to
one word, then it leaves the last of them out (help lists every key).

Textual's footer also builds its keys anew on every focus change (removes every key widget,
mounts new ones, matches the stylesheet against each): a tenth of the time from ctrl+r to
the saved-reply picker on screen. This one relabels the key widgets it has and adds or
removes only the difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: Always shown, at the right end.
ESSENTIAL = ("help", "quit")


@dataclass(frozen=True, slots=True)
class Item:
    binding: Binding
    enabled: bool
    tooltip: str
    key_display: str
    description: str

    @property
    def width(self) -> int:
        """Cells it takes (the key padded by one on each side, the description followed by
        one space)."""
        return len(self.key_display) + 2 + (len(self.description) + 1 if self.description else 0)


def fitted(items: list[Item], width: int) -> list[Item]:
    """``items`` shortened to fit ``width``, the essential ones kept whole and last."""
    essential = [i for i in items if i.binding.id in ESSENTIAL]
    rest = [i for i in items if i.binding.id not in ESSENTIAL]
    room = width - sum(i.width for i in essential)

    def total(chosen: list[Item]) -> int:
        return sum(i.width for i in chosen)

    for shorten in (_same, _one_word):
        candidate = [shorten(i) for i in rest]
        if total(candidate) <= room:
            return candidate + essential
    # The first keys in one word each, as many as fit (help lists the others).
    candidate = [_one_word(i) for i in rest]
    while candidate and total(candidate) > room:
        candidate.pop()
    return candidate + essential


def _same(item: Item) -> Item:
    return item


def _one_word(item: Item) -> Item:
    return replace(item, description=item.description.split(" ", 1)[0].rstrip(",;:"))


class KeyFooter(Footer):
    """A :class:`~textual.widgets.Footer` that always keeps help and quit in view."""

    def compose(self) -> ComposeResult:
        yield from (_key(item) for item in self._fitted())

    def _fitted(self) -> list[Item]:
        if not self._bindings_ready:
            return []
        return fitted(list(self._items()), self.size.width or self.app.size.width)

    async def recompose(self) -> None:
        """Show the keys of what has focus now: the key widgets there are relabelled in
        place, the missing ones mounted, the extra ones removed."""
        if not self.is_attached or self._pruning:
            return
        items = self._fitted()
        shown = list(self.query_children(FooterKey))
        async with self.batch():
            for widget, item in zip(shown, items, strict=False):
                _relabel(widget, item)
            if len(shown) > len(items):
                await self.remove_children(shown[len(items) :])
            elif len(items) > len(shown):
                await self.mount_all([_key(item) for item in items[len(shown) :]])

    def _items(self) -> Iterator[Item]:
        seen: set[str] = set()
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            yield Item(
                binding, enabled, tooltip, self.app.get_key_display(binding), binding.description
            )

    def on_resize(self) -> None:
        self.refresh(recompose=True)


def _key(item: Item) -> FooterKey:
    return FooterKey(
        item.binding.key,
        item.key_display,
        item.description,
        item.binding.action,
        disabled=not item.enabled,
        tooltip=item.tooltip or item.binding.description,
    ).data_bind(compact=Footer.compact)


def _relabel(widget: FooterKey, item: Item) -> None:
    """``widget`` shows ``item`` as :func:`_key` would have made it."""
    label = (widget.key, widget.key_display, widget.description, widget.action)
    wanted = (item.binding.key, item.key_display, item.description, item.binding.action)
    tooltip = item.tooltip or item.binding.description
    if (
        label == wanted
        and widget._disabled == (not item.enabled)
        and widget.tooltip == (tooltip or None)
    ):
        return
    resized = (len(widget.key_display), len(widget.description)) != (
        len(item.key_display),
        len(item.description),
    )
    widget.key, widget.key_display, widget.description, widget.action = wanted
    widget._disabled = not item.enabled
    widget.set_class(not item.enabled, "-disabled")
    widget.tooltip = tooltip or None
    widget.refresh(layout=resized)
