"""Progress reporting without printing: library code calls a callback, the CLI draws bars."""

from __future__ import annotations

from typing import Protocol


class ProgressCallback(Protocol):
    """Called as ``progress(stage, done, total)`` while long work runs.

    ``stage`` names the work (``"fc"``, ``"epoch"``), ``done`` counts finished units out
    of ``total``. Extra keyword arguments (``loss=...``) may carry figures to display.
    """

    def __call__(self, stage: str, done: int, total: int, **info: float) -> None:  # noqa: D102
        ...


def no_progress(stage: str, done: int, total: int, **info: float) -> None:
    """Ignore progress (the default of every API function)."""
