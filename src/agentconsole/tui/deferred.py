"""Work for an exclusive worker, started only when the worker runs it.

A worker given a coroutine object owns a coroutine from the moment it is queued; when a
newer exclusive worker of its group cancels it before it ran, that coroutine is never
awaited (Python warns: "coroutine ... was never awaited"). :func:`deferred` hands the worker
an awaitable that calls the coroutine function only when awaited, so a worker cancelled
before it starts leaves nothing behind. It is an :class:`~collections.abc.Awaitable`, which
``run_worker`` types precisely (a bare ``partial`` of an async function does not check).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Deferred(Generic[T]):
    """``work()`` awaited when this is awaited, and not before."""

    __slots__ = ("_work",)

    def __init__(self, work: Callable[[], Awaitable[T]]) -> None:
        self._work = work

    def __await__(self) -> Generator[Any, None, T]:
        return self._work().__await__()


def deferred(work: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> Deferred[T]:
    """``work(*args, **kwargs)``, called only when the result is awaited."""
    return Deferred(lambda: work(*args, **kwargs))
