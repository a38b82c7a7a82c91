"""IRC wire format: parsing lines (with IRCv3 tags), building them, splitting long text
at the 512-byte line limit, nick case folding, formatting codes, and the send-rate bucket.

Pure functions and small values only; no sockets here, so all of it is unit-tested fast.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

#: RFC 1459: a line is at most 512 bytes including the trailing CR LF.
MAX_LINE_BYTES = 512
#: When the server has not told us our own user@host yet, assume the longest usual one.
ASSUMED_USER_HOST_BYTES = 10 + 1 + 63

_TAG_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_FORMATTING = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)


@dataclass(frozen=True, slots=True)
class Line:
    """One parsed IRC line: ``@tags :prefix COMMAND params… :trailing``."""

    command: str
    params: tuple[str, ...] = ()
    prefix: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def nick(self) -> str:
        """The nick of the prefix (``nick!user@host``); the server name for server lines."""
        return self.prefix.split("!", 1)[0]

    @property
    def is_from_user(self) -> bool:
        return "!" in self.prefix


def _unescape_tag(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append(_TAG_UNESCAPE.get(following, following))
        else:
            out.append(char)
    return "".join(out)


def parse_line(text: str) -> Line:
    """Parse one line (without CR LF). Never raises: an empty line yields command ``""``."""
    tags: dict[str, str] = {}
    prefix = ""
    rest = text.lstrip(" ")
    if rest.startswith("@"):
        raw_tags, _, rest = rest[1:].partition(" ")
        for item in raw_tags.split(";"):
            if item:
                key, _, value = item.partition("=")
                tags[key] = _unescape_tag(value)
        rest = rest.lstrip(" ")
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
        rest = rest.lstrip(" ")
    trailing: str | None = None
    if " :" in rest:
        rest, trailing = rest.split(" :", 1)
    elif rest.startswith(":"):
        rest, trailing = "", rest[1:]
    words = rest.split()
    command = words[0].upper() if words else ""
    params = words[1:]
    if trailing is not None:
        params.append(trailing)
    return Line(command, tuple(params), prefix, tags)


def format_line(command: str, *params: str) -> str:
    """Build a line; the last parameter is sent as trailing. Refuses CR, LF and NUL, which
    would let text inject a second command."""
    for param in params:
        if any(c in param for c in "\r\n\0"):
            raise ValueError("IRC parameters cannot contain CR, LF or NUL")
    if not params:
        return command
    *middle, last = params
    return " ".join([command, *middle, ":" + last])


def irc_lower(text: str) -> str:
    """Nick and channel case folding (rfc1459 casemapping, the common default)."""
    return text.lower().translate(str.maketrans("[]\\~", "{}|^"))


def strip_formatting(text: str) -> str:
    """Remove mIRC bold/colour/italic/reset codes from a message."""
    return _FORMATTING.sub("", text)


def decode(data: bytes) -> tuple[str, str | None]:
    """Decode a line: UTF-8, else Latin-1 (old clients) with a note saying so."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return data.decode("latin-1"), "not valid UTF-8: decoded as Latin-1"


def text_budget(own_nick: str, own_user_host: str | None, target: str, lead: str = "") -> int:
    """Bytes of text that fit in one PRIVMSG to ``target`` as the server relays it
    (``:nick!user@host PRIVMSG target :<lead><text>\\r\\n`` ≤ 512)."""
    user_host = len(own_user_host.encode()) if own_user_host else ASSUMED_USER_HOST_BYTES
    overhead = (
        1
        + len(own_nick.encode())
        + 1
        + user_host  # ":nick!user@host"
        + len(" PRIVMSG ")
        + len(target.encode())
        + len(" :")
        + len(lead.encode())
        + 2
    )
    return MAX_LINE_BYTES - overhead


def _cut(word: str, budget: int) -> tuple[str, str]:
    """The longest head of ``word`` that fits in ``budget`` bytes without splitting a
    UTF-8 character, and the rest."""
    encoded = word.encode()
    if len(encoded) <= budget:
        return word, ""
    head = encoded[:budget].decode("utf-8", errors="ignore")
    if not head:  # a budget smaller than one character: take it anyway
        head = word[0]
    return head, word[len(head) :]


def split_message(text: str, budget: int) -> list[str]:
    """Split ``text`` into lines of at most ``budget`` UTF-8 bytes: at line breaks first, then
    between words; a word longer than a line is cut between characters. Blank lines are
    dropped (IRC cannot send an empty message); control characters become spaces."""
    if budget < 1:
        raise ValueError("no room for text in an IRC line")
    pieces: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        paragraph = paragraph.replace("\0", " ").replace("\t", "    ").rstrip()
        if not paragraph.strip():
            continue
        current = ""
        for word in re.split(r"( +)", paragraph):
            if not word:
                continue
            candidate = current + word
            if len(candidate.encode()) <= budget:
                current = candidate
                continue
            if current.strip():
                pieces.append(current.rstrip())
            current = "" if word.isspace() else word
            while len(current.encode()) > budget:
                head, current = _cut(current, budget)
                pieces.append(head)
        if current.strip():
            pieces.append(current.rstrip())
    return pieces


class TokenBucket:
    """Allows ``burst`` lines at once, then one every ``1 / rate`` seconds."""

    def __init__(self, rate: float, burst: int, clock: object = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = self._now()

    def _now(self) -> float:
        return self._clock()  # type: ignore[operator,no-any-return]

    def delay(self) -> float:
        """Take a token; return how long to wait before using it (0 when one is free)."""
        now = self._now()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def take(self) -> None:
        wait = self.delay()
        if wait > 0:
            await asyncio.sleep(wait)
