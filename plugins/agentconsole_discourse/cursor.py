"""The Discourse channel's cursor: how far the topic lists and each topic have been read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["Cursor"]

#: Topics whose last post number the cursor remembers.
MAX_REMEMBERED_TOPICS = 5000


@dataclass(slots=True)
class Cursor:
    """``since``: bumped_at up to which every listed topic has been read; ``topics``: last
    post number read per topic; ``pending``: topics of the current listing still to read,
    with ``next_since`` the watermark once they are."""

    since: str | None = None
    topics: dict[str, int] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    next_since: str | None = None

    def encode(self) -> str:
        topics = self.topics
        if len(topics) > MAX_REMEMBERED_TOPICS:
            # Topic ids grow with time: forget the oldest.
            keep = sorted(topics, key=int)[-MAX_REMEMBERED_TOPICS:]
            topics = {key: topics[key] for key in keep}
        return json.dumps(
            {
                "since": self.since,
                "topics": topics,
                "pending": self.pending,
                "next_since": self.next_since,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                data.get("since"),
                {str(k): int(v) for k, v in data["topics"].items()},
                [str(t) for t in data.get("pending", [])],
                data.get("next_since"),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls()
