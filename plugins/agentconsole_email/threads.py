"""How mail threads: Message-IDs and references, the subject token, auto-replies, forwards.

Everything here works on already-decoded header strings and never raises on odd input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

#: ``<local@domain>``: what a Message-ID, an In-Reply-To or a References entry looks like.
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
#: The conversation token we add to outbound subjects: ``[#42]``.
_TOKEN = re.compile(r"\[#(\d{1,18})\]")
#: Reply and forward prefixes in the languages support mail commonly arrives in.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|ref|r|fwd?|wg|tr|rv|enc|i)(?:\[\d+\])?\s*:\s*)+",
    re.IGNORECASE,
)
_FORWARD = re.compile(r"^\s*(?:(?:re|aw|sv)\s*:\s*)*(?:fwd?|wg|tr|rv|enc|i)\s*:", re.IGNORECASE)

#: Suffix of the ids we invent for messages that have no Message-ID; never sent out.
SYNTHETIC_DOMAIN = "synthetic.agentconsole.invalid"

_AUTOMATED_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-reply", "x-autoresponder")
_BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@")
#: Every header :func:`is_automated` reads (lower case).
AUTOMATION_HEADERS = frozenset({"auto-submitted", "precedence", "return-path", *_AUTOREPLY_HEADERS})


def message_id(value: str | None) -> str | None:
    """The normalized ``<id>`` in a Message-ID header, or ``None`` when it holds none.

    A bare ``id@host`` (some mailers forget the brackets) is accepted and bracketed.
    """
    if not value:
        return None
    found = _MESSAGE_ID.search(value)
    if found:
        return f"<{found.group(1)}>"
    bare = value.strip()
    if bare and not any(c.isspace() for c in bare) and "@" in bare and len(bare) < 1000:
        return f"<{bare}>"
    return None


def references(in_reply_to: str | None, references_header: str | None) -> tuple[str, ...]:
    """The external ids a message answers, oldest first and the direct parent last."""
    ids = [f"<{m}>" for m in _MESSAGE_ID.findall(references_header or "")]
    parent = [f"<{m}>" for m in _MESSAGE_ID.findall(in_reply_to or "")]
    ordered = [i for i in ids if i not in parent] + parent
    return tuple(dict.fromkeys(ordered))


def outbound_references(ids: Iterable[str]) -> list[str]:
    """The ids fit to put in a References header: real Message-IDs, not our synthetic ones."""
    return [i for i in ids if _MESSAGE_ID.fullmatch(i) and not i.endswith(f"@{SYNTHETIC_DOMAIN}>")]


def is_forward(subject: str) -> bool:
    """``Fwd:``, ``Fw:``, ``WG:``, ``TR:`` …: a forward starts a conversation, it does not
    answer one."""
    return bool(_FORWARD.match(subject))


def conversation_token(subject: str) -> str | None:
    """The number in the last ``[#N]`` tag of a subject, if any."""
    found = _TOKEN.findall(subject)
    return found[-1] if found else None


def base_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and without our ``[#N]`` tags."""
    text = _TOKEN.sub("", subject)
    text = _PREFIX.sub("", text)
    return " ".join(text.split())


def reply_subject(subject: str, token: str) -> str:
    """``Re: <subject> [#token]`` — keeps the thread in every client and carries the token."""
    base = base_subject(subject) or "Your message"
    return f"Re: {base} [#{token}]" if token else f"Re: {base}"


def is_automated(
    headers: Mapping[str, Sequence[str]], content_type: str, from_address: str
) -> bool:
    """Auto-replies, bounces and bulk mail (RFC 3834 ``Auto-Submitted``, ``Precedence``,
    vacation-responder headers, DSN/MDN reports, the null sender and MAILER-DAEMON)."""
    for value in headers.get("auto-submitted", ()):
        if value.strip().lower().split(";")[0].strip() not in ("", "no"):
            return True
    for value in headers.get("precedence", ()):
        if value.strip().lower() in _AUTOMATED_PRECEDENCE:
            return True
    if any(headers.get(name) for name in _AUTOREPLY_HEADERS):
        return True
    if content_type == "multipart/report":
        return True
    if any(value.strip() == "<>" for value in headers.get("return-path", ())):
        return True
    return from_address.lower().startswith(_BOUNCE_SENDERS)
