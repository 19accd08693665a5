"""Small validation helpers that raise neurocl's own errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from neurocl._core.errors import ParameterError


def check_in(value: Any, allowed: Iterable[Any], name: str) -> Any:
    """Raise :class:`ParameterError` unless ``value`` is one of ``allowed``.

    Parameters
    ----------
    value : object
        The value given.
    allowed : iterable
        The values accepted.
    name : str
        The parameter name, for the message.

    Returns
    -------
    object
        ``value`` unchanged.
    """
    allowed = list(allowed)
    if value not in allowed:
        raise ParameterError(
            f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}"
        )
    return value


def check_positive(value: float, name: str, *, strict: bool = True) -> float:
    """Raise :class:`ParameterError` unless ``value`` is positive (or non-negative)."""
    if value is None or (value <= 0 if strict else value < 0):
        bound = "> 0" if strict else ">= 0"
        raise ParameterError(f"{name} must be {bound}; got {value!r}")
    return value
