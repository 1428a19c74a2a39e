"""Async-iterator helpers shared by the agent and its provider clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

__all__ = ["closing"]

_T = TypeVar("_T")


@asynccontextmanager
async def closing(items: AsyncIterator[_T]) -> AsyncIterator[AsyncIterator[_T]]:
    """Close httpx's body iterators when we stop early (``[DONE]``, a barge-in): Trio
    rightly complains about async generators left to the garbage collector."""
    try:
        yield items
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
