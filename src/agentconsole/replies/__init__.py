"""Saved replies and macros: plain files, placeholders filled per conversation, a fuzzy
picker's ranking. Headless (no Textual, no Rich): the CLI and the TUI both use it."""

from __future__ import annotations

from .filling import Agent, context_for, fill, refusal
from .library import ReplyLibrary, ReplyProblem, SavedReply, load_library, read_reply
from .ranking import rank
from .template import FIELDS, PlaceholderError, ReplyContext, Template, parse

__all__ = [
    "FIELDS",
    "Agent",
    "PlaceholderError",
    "ReplyContext",
    "ReplyLibrary",
    "ReplyProblem",
    "SavedReply",
    "Template",
    "context_for",
    "fill",
    "load_library",
    "parse",
    "rank",
    "read_reply",
    "refusal",
]
