"""A small, immutable, case-insensitive multi-map of HTTP header fields."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import final, overload

__all__ = ["Headers"]


@final
class Headers:
    """HTTP header fields as received, in order, with case-insensitive lookup.

    Iterating yields ``(name, value)`` pairs with the names spelled as the peer sent them;
    :meth:`get` returns the first value of a field, :meth:`get_all` every value. Immutable
    (and hashable) so a :class:`HandshakeRequest` can be shared freely between tasks.
    """

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(items)
        index: dict[str, list[str]] = {}
        for name, value in self._items:
            index.setdefault(name.lower(), []).append(value)
        self._index = index

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of field ``name`` (any case), or ``default`` when absent."""
        values = self._index.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        """Every value of field ``name`` (any case), in the order received."""
        return list(self._index.get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"
