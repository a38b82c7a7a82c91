"""What makes two inbound messages the same message (no SQL here: the rule, written once).

A message's identity is its channel, its external id and a digest of its content:

* the same identity again is a redelivery and is stored once;
* a known external id with another digest is a different message (a revised mail, a list
  copy with a footer, an API client reusing an ``id``): it is stored too, in the same
  conversation, with a note naming the message whose id it shares.

The digest is the plugin's ``InboundMessage.content_digest`` when it sets one (the email
plugin hashes the raw message without its transit headers), else :func:`fields_digest`.
Digests are ``"scheme:hex"``. A stored digest that cannot be compared with the new one —
``NULL`` (rows stored before identities existed, and agents' replies, whose external id is
only known once sent) or another scheme (a plugin that started or stopped setting digests)
— matches any content: such rows go on deduplicating on their id alone, as they always did,
so nothing is stored twice across an upgrade.
"""

from __future__ import annotations

import hashlib
import json

from ..plugin import InboundMessage

#: Scheme of the digests the core computes itself.
FIELDS_SCHEME = "fields-1"

#: The encoding the digest is taken of: ``json.dumps(…, ensure_ascii=False,
#: separators=(",", ":"))``, made once (``dumps`` builds an encoder per call with these).
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def fields_digest(message: InboundMessage) -> str:
    """A digest of what the author wrote: the author's name and identities, the subject,
    the body and each attachment's name, type and content.

    ``sent_at`` is left out on purpose: plugins fill it with the time of fetching when the
    channel gives none, so a retried delivery (an API client resending a request) would
    otherwise look like new content.
    """
    fields = [
        message.author.name,
        [[identity.namespace, identity.address] for identity in message.author.identities],
        message.subject,
        message.body,
        [
            [a.filename, a.content_type, hashlib.sha256(a.data).hexdigest()]
            for a in message.attachments
        ],
    ]
    # surrogatepass: a lone surrogate (before the store replaces it) still counts as content.
    encoded = _COMPACT_JSON.encode(fields).encode("utf-8", "surrogatepass")
    return f"{FIELDS_SCHEME}:{hashlib.sha256(encoded).hexdigest()}"


def digest_of(message: InboundMessage) -> str:
    """The content digest the message is identified by (the plugin's, else the core's)."""
    return message.content_digest or fields_digest(message)


def _scheme(digest: str) -> str:
    return digest.partition(":")[0]


def is_redelivery(digest: str, stored: str | None) -> bool:
    """Whether a message with ``digest`` is the stored message with the same external id
    whose digest is ``stored`` (see the module docstring for ``NULL`` and other schemes)."""
    return stored is None or stored == digest or _scheme(stored) != _scheme(digest)


def same_id_note(message_id: int, channel_kind: str) -> str:
    """The note on a message stored under an external id another message already has."""
    what = "Message-ID" if channel_kind == "email" else "id"
    return f"same {what} as message {message_id}, different content"
