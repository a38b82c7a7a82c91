"""A search hit's snippet made from the window the database cut out of its message."""

from __future__ import annotations

from agentconsole.store import snippets
from agentconsole.store.snippets import WIDTH, WINDOW


def test_a_window_from_the_middle_of_a_body_shows_it_was_cut_on_both_sides() -> None:
    window = "x" * 10 + " the refund " + "y " * WINDOW  # one more than WINDOW: it goes on
    text = snippets.snippet(200, window[: WINDOW + 1], ["refund"])
    assert text.startswith("…") and text.endswith("…")
    assert "the refund" in text
    assert len(text) <= WIDTH + 2


def test_a_whole_short_body_is_shown_as_it_is_on_one_line() -> None:
    assert snippets.snippet(1, "Hello\r\n\r\n  my\trefund ", ["refund"]) == "Hello my refund"


def test_the_earliest_word_sits_a_third_of_the_way_in() -> None:
    window = "lorem " * 12 + "invoice and refund" + " tail" * 10
    text = snippets.snippet(1, window, ["refund", "invoice"])
    assert text.startswith("…")
    assert text.index("invoice") == WIDTH // 3 + 1  # after the "…"


def test_control_sequences_become_visible_and_markup_stays_text() -> None:
    text = snippets.snippet(1, "pay \x1b[2J\x9b now [b]refund[/b]", ["refund"])
    assert text == "pay ␛[2J� now [b]refund[/b]"


def test_the_words_placing_a_snippet_are_the_query_words_once_lower_cased() -> None:
    assert snippets.words("Refund REFUND e-mail order*") == ["refund", "e", "mail", "order"]
    assert len(snippets.words("a b c d e f")) == snippets.MAX_WORDS
