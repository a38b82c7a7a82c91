"""HTML mail bodies as readable plain text, with nothing ever fetched.

inscriptis (Apache-2.0) lays out paragraphs, lists and tables as text; it parses with lxml,
which never touches the network here: images become nothing (or their alt text), links
their text. Imported on first use so plain-text mail never pays for it.
"""

from __future__ import annotations

import re

#: HTML larger than this is cut before conversion (the raw message is kept whole).
MAX_HTML_CHARS = 2_000_000
_TAG = re.compile(r"<[^>]*>")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """Readable text for an HTML body; falls back to stripping tags if the converter fails."""
    html = html[:MAX_HTML_CHARS]
    if not html.strip():
        return ""
    try:
        from inscriptis import get_text
        from inscriptis.model.config import ParserConfig

        text = get_text(html, ParserConfig(display_images=False, display_links=False))
    except Exception:  # lxml refuses some documents (e.g. only a comment): strip tags instead
        text = _TAG.sub(" ", html)
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
