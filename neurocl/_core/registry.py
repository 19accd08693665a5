"""Name -> component registries (encoders, objectives, augmentations, FC kinds...)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from neurocl._core.errors import ParameterError

T = TypeVar("T")


def normalize_name(name: str) -> str:
    """Normalise a component name: lower case, ``_`` and spaces become ``-``.

    Parameters
    ----------
    name : str
        The name as a user typed it (``"Edge_Drop"``, ``"edge drop"``).

    Returns
    -------
    str
        The canonical key (``"edge-drop"``).
    """
    return "-".join(name.strip().lower().replace("_", "-").split())


class Registry(Generic[T]):
    """A mapping from normalised names to components, filled with a decorator.

    Parameters
    ----------
    kind : str
        What the registry holds, used in error messages (``"encoder"``).

    Examples
    --------
    >>> encoders = Registry("encoder")
    >>> @encoders.register("gin")
    ... class GIN: ...
    >>> encoders.get("GIN") is GIN
    True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        """Return a decorator that registers its argument under ``name`` (and aliases)."""

        def decorator(obj: T) -> T:
            key = normalize_name(name)
            if key in self._entries:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            self._entries[key] = obj
            for alias in aliases:
                self._aliases[normalize_name(alias)] = key
            return obj

        return decorator

    def resolve(self, name: str) -> str:
        """Return the canonical name for ``name``, or raise listing the valid names."""
        key = normalize_name(name)
        key = self._aliases.get(key, key)
        if key not in self._entries:
            raise ParameterError(
                f"unknown {self.kind} {name!r}; valid {self.kind}s: {', '.join(self.names())}"
            )
        return key

    def get(self, name: str) -> T:
        """Return the component registered under ``name``."""
        return self._entries[self.resolve(name)]

    def build(self, name: Any, /, **kwargs: Any) -> Any:
        """Instantiate the component named ``name``; an object that is not a str passes through."""
        if not isinstance(name, str):
            return name
        factory = self.get(name)
        return factory(**kwargs)  # type: ignore[operator]

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_name(name) in (
            self._entries.keys() | self._aliases.keys()
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
