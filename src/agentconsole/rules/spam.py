"""What lands in Spam on arrival: a sender blocked or allowed by the config (an address or
a whole ``@domain``), and — when the team trusts its mail server's filter — mail the server
flagged (``X-Spam-Flag: YES``, ``X-Spam-Status: Yes``). Senders blocked by marking a
conversation spam live in the store (per channel) and are checked there.

Pure decisions on values: the store asks them while it ingests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpamPolicy:
    """``[spam]`` of the config: ``block`` and ``allow`` lists (lower-case addresses and
    ``@domains``; allow wins) and ``trust_spam_headers``."""

    block: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    trust_spam_headers: bool = False

    @property
    def active(self) -> bool:
        return bool(self.block or self.allow or self.trust_spam_headers)

    def verdict(self, address: str) -> bool | None:
        """True: the config blocks ``address``; False: it allows it (never spam, whatever
        else says so); None: it says nothing."""
        address = address.strip().lower()
        domain = "@" + address.rpartition("@")[2] if "@" in address else None
        if address in self.allow or (domain is not None and domain in self.allow):
            return False
        if address in self.block or (domain is not None and domain in self.block):
            return True
        return None


def flagged_by_server(raw: bytes | None) -> bool:
    """Whether a mail's headers say the server's filter judged it spam (SpamAssassin's
    ``X-Spam-Flag: YES`` or an ``X-Spam-Status`` beginning with ``Yes``)."""
    if not raw:
        return False
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    head = raw if end < 0 else raw[: end + 2]
    # Imported here: reading the config's rules (which a read command does) needs no mail
    # parser.
    from email.parser import BytesHeaderParser
    from email.policy import compat32

    headers = BytesHeaderParser(policy=compat32).parsebytes(head)
    flag = str(headers.get("X-Spam-Flag", "")).strip().lower()
    status = str(headers.get("X-Spam-Status", "")).strip().lower()
    return flag == "yes" or status.startswith("yes")
