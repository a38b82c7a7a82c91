"""Neutralizing text from outside before it reaches a terminal.

Bodies, subjects, names and file names come from customers and are hostile data. Textual and
Rich parse a plain ``str`` as markup in many widgets, and pass ESC and C1 control characters
straight to the terminal (an OSC 52 clipboard write, a title change, a fake prompt), so every
piece of outside text shown on screen or printed by the CLI goes through this module:

* :func:`clean` replaces control characters with visible stand-ins: C0 controls become the
  Unicode "control pictures" (ESC shows as ``␛``), DEL as ``␡``, C1 controls (U+0080–U+009F)
  as ``�``; bidirectional overrides, which can make text read differently than it is, are
  dropped. Newlines (and tabs, expanded) are kept only where the caller allows them.
* :func:`one_line` folds it into a single row; :func:`escape_for_json` makes JSON output
  safe to print as well.

Pure text, no Rich or Textual: the headless CLI, store and sync use it. The TUI wraps the
cleaned string in a Rich ``Text`` (never parsed as markup) with
:func:`agentconsole.tui.safe_text.safe_text`.
"""

from __future__ import annotations

import re

# Bidirectional overrides and invisible spaces: they make text read differently than
# it is (a name that looks like another, a reversed file extension).
_BIDI = (
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    "\u200b\u2060\ufeff"  # (not ZWJ/ZWNJ: emoji sequences and Persian need them)
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f" + _BIDI + "]")
#: The same but for tab, line feed and carriage return, which :func:`one_line` folds away
#: as whitespace.
_CONTROL_IN_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _BIDI + "]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    if 0x80 <= code <= 0x9F:
        return "\ufffd"
    return ""


def clean(text: str, *, multiline: bool = True, tab_size: int = 4) -> str:
    """Outside text made safe to print: no control sequence survives.

    With ``multiline`` newlines are kept (``\\r\\n`` and lone ``\\r`` become ``\\n``);
    otherwise line breaks become spaces so a row stays one row.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.expandtabs(tab_size)
    if multiline:
        return "\n".join(_CONTROL.sub(_visible, line) for line in text.split("\n"))
    return _CONTROL.sub(_visible, text.replace("\n", " "))


def one_line(text: str) -> str:
    """Outside text for a single row: cleaned, line breaks and runs of spaces folded."""
    # What folding ``clean(text, multiline=False)`` gives, in one pass: tabs and line
    # breaks are whitespace the folding removes anyway (a search runs this for each hit).
    return " ".join(_CONTROL_IN_LINE.sub(_visible, text).split())


def escape_for_json(text: str) -> str:
    """JSON text with C1 controls escaped too (``json.dumps`` leaves them raw when
    ``ensure_ascii`` is off), so piping ``--json`` output to a terminal is safe."""
    return re.sub(
        r"[\x7f-\x9f\u2028\u2029" + _BIDI + "]", lambda m: f"\\u{ord(m.group()):04x}", text
    )
