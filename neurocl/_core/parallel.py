"""Where joblib work runs: local processes, or a Dask cluster named by its scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from neurocl._core.errors import ParameterError


@contextmanager
def parallel_backend(scheduler: str | None = None, timeout: str = "10s") -> Iterator[None]:
    """Run the joblib work inside the block on a Dask cluster when ``scheduler`` is given.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``). None keeps joblib's
        local backend.
    timeout : str
        How long to try reaching the scheduler.

    Raises
    ------
    ParameterError
        When dask is not installed or the scheduler cannot be reached.
    """
    if not scheduler:
        yield
        return
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise ParameterError(
            "--scheduler needs dask.distributed: pip install 'neurocl[dask]'"
        ) from exc
    import joblib

    try:
        client = Client(scheduler, timeout=timeout)
    except OSError as exc:
        raise ParameterError(
            f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address and "
            "that the scheduler is running"
        ) from exc
    try:
        with joblib.parallel_config(backend="dask"):
            yield
    finally:
        client.close()
