"""Fuzzy matching for the saved-reply picker: what the agent types against title, keywords
and body, fzf-style (the letters in order, not necessarily together), best first."""

from __future__ import annotations

from collections.abc import Sequence

from .library import SavedReply

#: Where a match counts most: a title beats a keyword beats the body.
WEIGHTS = (("title", 8), ("keywords", 4), ("body", 1))


def subsequence_score(needle: str, haystack: str) -> int:
    """0 when the letters of ``needle`` are not all in ``haystack`` in order; else higher
    for a whole-word or contiguous match."""
    if not needle:
        return 1
    if needle in haystack:
        at = haystack.find(needle)
        starts_word = at == 0 or not haystack[at - 1].isalnum()
        return 100 + (50 if starts_word else 0)
    position = 0
    gaps = 0
    for char in needle:
        found = haystack.find(char, position)
        if found < 0:
            return 0
        gaps += found - position
        position = found + 1
    return max(1, 50 - gaps)


def rank(replies: Sequence[SavedReply], query: str) -> list[SavedReply]:
    """``replies`` that match every word of ``query``, best first (all of them, in their
    order, for an empty query)."""
    words = query.casefold().split()
    if not words:
        return list(replies)
    scored: list[tuple[int, int, SavedReply]] = []
    for index, reply in enumerate(replies):
        fields = {
            "title": reply.title.casefold(),
            "keywords": " ".join(reply.keywords).casefold(),
            "body": reply.body.casefold(),
        }
        total = 0
        for word in words:
            best = max(subsequence_score(word, fields[name]) * weight for name, weight in WEIGHTS)
            if best == 0:
                break
            total += best
        else:
            scored.append((-total, index, reply))
    return [reply for _, _, reply in sorted(scored, key=lambda item: (item[0], item[1]))]
