"""Why a message is in its conversation: the reason codes the store records and the one
sentence each reads as (the thread's "joined by References <…>", ``show``, ``show --json``).

A reason is a stable code plus the thing it names (a Message-ID, a ``[#N]`` token, a
channel's thread key, where a moved message came from). Messages stored before reasons were
kept have none: :data:`UNKNOWN` says so instead of guessing.
"""

from __future__ import annotations

from typing import Any

from .sanitize import one_line

#: It refers (References / In-Reply-To) to a message of the conversation; names that id.
REFERENCES = "references"
#: It answers the same (unseen) message as one already here; names that reference.
SIBLING = "sibling"
#: A message already here refers to it (it arrived after its reply); names its own id.
REFERENCED_BY = "referenced_by"
#: It shares its id with a stored message (different content) and joined that one's place.
SAME_ID = "same_id"
#: The ``[#N]`` token in its subject names the conversation.
TOKEN = "token"
#: The channel's thread key (a chat room, a forum topic) is the conversation's.
THREAD_KEY = "thread_key"
#: Nothing matched: it started the conversation.
FIRST = "first"
#: An agent wrote it here (a reply or a note).
AGENT = "agent"
#: An agent moved it here; names where from and who.
MOVED = "moved"
#: An agent split it off another conversation; names which and who.
SPLIT = "split"
#: An agent merged its conversation into this one; names which and who.
MERGED = "merged"

_SENTENCES = {
    REFERENCES: "joined by References {detail}",
    SIBLING: "joined by References {detail} (answers the same message as one here)",
    REFERENCED_BY: "joined because a reply already here refers to it ({detail})",
    SAME_ID: "joined {detail}, whose id it shares",
    TOKEN: "joined by the subject token {detail}",
    THREAD_KEY: "joined by the channel's thread key {detail}",
    FIRST: "first message of this conversation",
    AGENT: "written here by {detail}",
    MOVED: "moved here {detail}",
    SPLIT: "split off {detail}",
    MERGED: "merged in {detail}",
}
#: What a message stored before reasons were kept says.
UNKNOWN = "unknown (stored before reasons were kept)"


def describe(reason: str | None, detail: str | None) -> str:
    """The sentence for a reason, outside text neutralised to one line."""
    if reason is None:
        return UNKNOWN
    sentence = _SENTENCES.get(reason, reason + " {detail}")
    return sentence.format(detail=one_line(detail or "")).strip()


def reason_json(reason: str | None, detail: str | None) -> dict[str, Any]:
    """``{"kind", "detail", "text"}`` for ``show --json``; kind ``unknown`` for old rows."""
    return {"kind": reason or "unknown", "detail": detail, "text": describe(reason, detail)}
