"""Typed records from SQL rows, by field name: each record's columns are listed once, as
the SQL expression of every field, so a SELECT and the record it builds cannot drift apart
(no positional splats)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


class Columns(Generic[R]):
    """The SQL expression of each field of ``record``, in SELECT order.

    ``convert`` maps a field to a function applied to its column value (SQLite has no
    booleans and no arrays). Fields left out of ``expressions`` are passed to :meth:`build`
    by the caller (e.g. a message's attachments, read by another query).

    Raises ``TypeError`` at import time when a name is not a field of ``record`` or a
    converted field is not selected.
    """

    __slots__ = ("record", "names", "sql", "_convert")

    def __init__(
        self,
        record: type[R],
        expressions: Mapping[str, str],
        convert: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        # A record's fields, without loading dataclasses (see agentconsole.models.record).
        fields = set(record.__match_args__)  # type: ignore[attr-defined]
        unknown = set(expressions) - fields
        if unknown:
            raise TypeError(f"{record.__name__} has no field {', '.join(sorted(unknown))}")
        unselected = set(convert or {}) - set(expressions)
        if unselected:
            raise TypeError(f"{', '.join(sorted(unselected))}: converted but not selected")
        self.record = record
        self.names: tuple[str, ...] = tuple(expressions)
        #: The select list, ``expression, expression, …``.
        self.sql = ", ".join(expressions.values())
        self._convert = tuple((self.names.index(n), f) for n, f in (convert or {}).items())

    def build(self, row: Sequence[Any], **extra: Any) -> R:
        """The record for one row selected with :attr:`sql`, plus the ``extra`` fields."""
        if self._convert:
            values = list(row)
            for index, function in self._convert:
                values[index] = function(values[index])
            row = values
        return self.record(**dict(zip(self.names, row, strict=True)), **extra)
