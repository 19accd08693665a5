"""Output helpers: data on stdout, progress and logs on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

stdout = Console(soft_wrap=True)
#: the arguments of the running command (set by the root command group)
ARGV: list[str] | None = None
stderr = Console(stderr=True)


def command_line() -> str:
    """The command line being run, as a shell-quoted string (recorded in outputs)."""
    import shlex

    return shlex.join(["neurocl", *(sys.argv[1:] if ARGV is None else ARGV)])


def split_list(value: str | None) -> list[str]:
    """Split a comma-separated option value (``"a, b,,c"`` -> ``["a", "b", "c"]``)."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def fmt_number(value: Any, spec: str = ".3f") -> str:
    """Format a number for a table cell; missing or non-finite values become ``-``."""
    import math

    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec)


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON on stdout (one object, newline-terminated)."""
    sys.stdout.write(json.dumps(obj, indent=2, default=_default) + "\n")
    sys.stdout.flush()


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """Yield a progress callback that draws rich bars on stderr (only on a terminal)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if not enabled or not stderr.is_terminal:
        yield lambda stage, done, total, **info: None
        return
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=stderr,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def callback(stage: str, done: int, total: int, **info: float) -> None:
        text = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in info.items())
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total, info=text)
        bar.update(tasks[stage], completed=done, total=total, info=text)

    with bar:
        yield callback
