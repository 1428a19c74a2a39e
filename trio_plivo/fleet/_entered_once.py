"""The shape every fleet object shares: ``async with`` it once; leaving ends its Redis work."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Self

from ._routing import single_error

__all__ = ["EnteredOnce"]


class EnteredOnce:
    """Base of the objects used as ``async with X(...) as x:``, whose lifetime is the async
    context manager :meth:`_open` makes (a Redis connection pool, background tasks ...)."""

    _lifetime: AbstractAsyncContextManager[object] | None = None

    def _open(self) -> AbstractAsyncContextManager[object]:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        if self._lifetime is not None:
            raise RuntimeError(f"a {type(self).__name__} can be entered only once")
        self._lifetime = self._open()
        failure: BaseException | None = None
        try:
            await self._lifetime.__aenter__()
        except BaseExceptionGroup as group:
            # A background task failed while starting, inside a nursery: raise its one error.
            if (failure := single_error(group)) is None:
                raise
        if failure is not None:
            raise failure
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._lifetime is not None
        return await self._lifetime.__aexit__(exc_type, exc, tb)
