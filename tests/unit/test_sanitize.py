"""Outside text never reaches the terminal as markup or control sequences."""

from __future__ import annotations

import io
import random

from rich.console import Console

from agentconsole.sanitize import clean, escape_for_json, one_line
from agentconsole.tui.safe_text import safe_text

HOSTILE = (
    "[bold]x[/bold] [@click=app.quit]q[/] [link=http://e.x]l[/link] [/] "
    "\x1b]52;c;SGVsbG8=\x07 \x1b]0;pwned\x07 \x1b[2J \x9b31m \u202eevil"
)


def render(text: str) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor", width=400)
    console.print(safe_text(text))
    return buffer.getvalue()


def test_control_sequences_become_visible_stand_ins() -> None:
    cleaned = clean(HOSTILE)
    assert "\x1b" not in cleaned and "\x07" not in cleaned and "\x9b" not in cleaned
    assert "␛]52;c;SGVsbG8=␇" in cleaned and "␛[2J" in cleaned and "\ufffd31m" in cleaned
    assert "\u202e" not in cleaned


def test_markup_is_shown_literally_and_nothing_escapes_to_the_terminal() -> None:
    out = render(HOSTILE)
    assert "[bold]x[/bold]" in out and "[@click=app.quit]q[/]" in out and "[link=http://e.x]" in out
    assert "\x1b]52" not in out and "\x1b]0;pwned" not in out and "\x9b" not in out
    assert "\x1b]8;" not in out  # no hyperlink was created


def test_one_line_folds_line_breaks() -> None:
    assert one_line("Re:\r\n  refund\n\tplease") == "Re: refund please"


def test_one_line_is_clean_text_folded() -> None:
    """Every control is shown or dropped as :func:`clean` does, whatever surrounds it."""
    pick = random.Random(14)
    alphabet = "ab \t\r\n\x0b\x0c\x1c\x1f\x85\x00\x1b\x7f\x9f\u200b\u202e\xa0\u3000\u2028é\ufeff"
    for _ in range(5000):
        text = "".join(pick.choice(alphabet) for _ in range(pick.randint(0, 12)))
        assert one_line(text) == " ".join(clean(text, multiline=False).split()), repr(text)


def test_newlines_kept_in_bodies() -> None:
    assert clean("a\r\nb\rc\n") == "a\nb\nc\n"


def test_json_escapes_c1_controls() -> None:
    assert escape_for_json('"\x9b31m"') == '"\\u009b31m"'


def test_invisible_spaces_are_dropped_but_emoji_sequences_kept() -> None:
    assert clean("pay\u200bpal\ufeff") == "paypal"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean(family) == family
