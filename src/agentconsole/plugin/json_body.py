"""JSON from outside, parsed so that a hostile body is a clear 400 and never a crash.

:func:`parse_json` refuses what the store could never hold or Python cannot walk: a body
that is not UTF-8 JSON, nesting deeper than :data:`MAX_DEPTH` (which would otherwise end in
a ``RecursionError``), and lone surrogates (``"\\ud800"``: valid JSON, but not text that can
be written as UTF-8 — storing it would fail on every retry). The error names the field, as
a path such as ``author.name`` or ``attachments[2]``, so a sender can fix its request.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "JsonBodyError", "parse_json"]

#: Deepest nesting of objects and arrays accepted.
MAX_DEPTH = 64


class JsonBodyError(ValueError):
    """A body that is not acceptable JSON; ``field`` names where (``""``: the whole body)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(data: Any) -> None:
    """Raise for the first field (depth first) nested too deep or holding a lone surrogate."""
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        where, value, depth = stack.pop()
        if isinstance(value, str):
            if not _is_text(value):
                raise JsonBodyError(
                    f"{where or 'the body'} holds a lone surrogate (an unpaired \\ud800-\\udfff"
                    " escape), which is not text",
                    where,
                )
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth >= MAX_DEPTH:
            raise JsonBodyError(
                f"{where or 'the body'} is nested deeper than {MAX_DEPTH} levels", where
            )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        children = []
        for key, child in items:
            if isinstance(key, str) and not _is_text(key):
                raise JsonBodyError(
                    f"a field name in {where or 'the body'} holds a lone surrogate, which is "
                    "not text",
                    where,
                )
            children.append((_path(where, key), child, depth + 1))
        stack.extend(reversed(children))


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``; raises :class:`JsonBodyError` saying what is wrong and
    where when it is not UTF-8 JSON, is nested deeper than :data:`MAX_DEPTH` or holds a
    lone surrogate in any string (key or value)."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise JsonBodyError(f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise JsonBodyError(f"the body is not valid JSON: {error}") from None
    _check(data)
    return data
