"""HTML (forum posts, feed entries) as readable plain text, with nothing ever fetched.

The same approach as the mail channel: inscriptis lays out paragraphs, lists, quotes and
tables as text; it parses with lxml, which never touches the network here. Images become
nothing, links their text. Hostile text is left as it is: the core neutralizes it on display.
"""

from __future__ import annotations

import re

__all__ = ["html_to_text"]

#: HTML larger than this is cut before conversion.
MAX_HTML_CHARS = 2_000_000
_TAG = re.compile(r"<[^>]*>")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """Readable text for an HTML fragment; falls back to stripping tags if lxml refuses it."""
    html = html[:MAX_HTML_CHARS]
    if not html.strip():
        return ""
    try:
        from inscriptis import get_text
        from inscriptis.model.config import ParserConfig

        text = get_text(html, ParserConfig(display_images=False, display_links=False))
    except Exception:  # lxml refuses some fragments (e.g. only a comment)
        text = _TAG.sub(" ", html)
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
