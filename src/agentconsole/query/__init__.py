"""The query language: one grammar for the sidebar views, ``list``, ``search``, the TUI's
``/`` and, later, rules and SLA policies. Parsing only; each store compiles the tree.

>>> str(parse("tag:billing OR priority:>=high -is:mine"))
'tag:billing OR (priority:>=high -is:mine)'
"""

from __future__ import annotations

from .ast import (
    MATCH_ALL,
    And,
    Field,
    Node,
    Not,
    Or,
    Text,
    all_of,
    any_of,
    has_status_term,
    to_query,
    walk,
)
from .errors import QueryError, format_error
from .fields import FIELDS, Assignee, FieldSpec, FieldValue, Op, Party
from .parser import parse, parse_field

__all__ = [
    "FIELDS",
    "MATCH_ALL",
    "And",
    "Assignee",
    "Field",
    "FieldSpec",
    "FieldValue",
    "Node",
    "Not",
    "Op",
    "Or",
    "Party",
    "QueryError",
    "Text",
    "all_of",
    "any_of",
    "format_error",
    "has_status_term",
    "parse",
    "parse_field",
    "to_query",
    "walk",
]
