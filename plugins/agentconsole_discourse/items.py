"""Reading the items of a Discourse answer — categories, listed topics, posts — one by one.

Answers are outside data: an item of the wrong JSON type, without its ``id``, or with a
number that is not one is skipped with a reason (logged by the channel, cleaned) and the
other items are read. Only the shape of a whole answer (a topic list that is not one) makes
the fetch fail, as a temporary error.
"""

from __future__ import annotations

from typing import Any

__all__ = ["json_type", "number", "objects", "post_key"]


def json_type(value: Any) -> str:
    """What a JSON value is, for a log line ("a list", "a string" …)."""
    if isinstance(value, bool):
        return "true/false"
    for kind, name in ((dict, "an object"), (list, "a list"), (str, "a string")):
        if isinstance(value, kind):
            return name
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


def number(value: Any) -> int | None:
    """A whole number given as a JSON number or digits; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def objects(value: Any, what: str, problems: list[str]) -> list[dict[str, Any]]:
    """The JSON objects in the list ``value`` (``what`` names it in a reason); null is an
    empty list, anything else and every item that is not an object adds a reason."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{what} is {json_type(value)}, not a list")
        return []
    found = [item for item in value if isinstance(item, dict)]
    for item in value:
        if not isinstance(item, dict):
            problems.append(f"an item of {what} is {json_type(item)}, not an object")
    return found


def post_key(post: dict[str, Any], problems: list[str]) -> tuple[int, int] | None:
    """A post's ``(id, post_number)``, or None with a reason when either is missing."""
    post_id, post_number = number(post.get("id")), number(post.get("post_number"))
    if post_id is None:
        problems.append(f"a post has no usable id (id is {json_type(post.get('id'))})")
        return None
    if post_number is None:
        problems.append(f"post {post_id} has no usable post_number")
        return None
    return post_id, post_number
