"""Batched symmetric-matrix functions in torch (float64 for inverse and eigen kinds)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import torch
from threadpoolctl import threadpool_limits

T = TypeVar("T")

_PARALLEL_MIN_BATCH = 32


def batched_eigh(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigendecomposition of a batch of symmetric matrices.

    On the CPU the batch is split across the cores with :func:`per_core_map` (torch releases
    the GIL), each running LAPACK's ``syevd`` single-threaded: a multi-threaded ``syevd`` per
    matrix is slower than one matrix per core (about 1.5x at 400 nodes on 2 cores).

    Parameters
    ----------
    a : Tensor of shape (batch, n, n)
        Symmetric matrices.

    Returns
    -------
    eigenvalues : Tensor of shape (batch, n)
    eigenvectors : Tensor of shape (batch, n, n)
    """
    if a.device.type != "cpu" or a.ndim != 3 or cpu_workers() < 2 or len(a) < _PARALLEL_MIN_BATCH:
        return torch.linalg.eigh(a)
    parts = per_core_map(torch.linalg.eigh, a)
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def form_symmetric(
    function: Callable[[torch.Tensor], torch.Tensor],
    eigenvalues: torch.Tensor,
    eigenvectors: torch.Tensor,
) -> torch.Tensor:
    """Return ``V diag(function(w)) V^T`` for eigenvalues ``w`` and eigenvectors ``V``."""
    return (eigenvectors * function(eigenvalues).unsqueeze(-2)) @ eigenvectors.mT


def map_eigenvalues(
    function: Callable[[torch.Tensor], torch.Tensor], symmetric: torch.Tensor
) -> torch.Tensor:
    """Apply ``function`` to the eigenvalues of (a batch of) symmetric matrices."""
    if symmetric.ndim == 2:
        w, v = torch.linalg.eigh(symmetric)
    else:
        w, v = batched_eigh(symmetric)
    return form_symmetric(function, w, v)


def symmetrize(a: torch.Tensor) -> torch.Tensor:
    """Return ``(a + a^T) / 2``."""
    return 0.5 * (a + a.mT)


class NotPositiveDefiniteError(ValueError):
    """A matrix of a batch is not positive definite; ``index`` is its position in the batch."""

    def __init__(self, index: int) -> None:
        super().__init__(f"matrix {index} is not positive definite")
        self.index = index


def cpu_workers() -> int:
    """Worker threads for the per-core CPU loops: torch's intra-op thread count."""
    return max(1, torch.get_num_threads())


def per_core_map(function: Callable[[Sequence[T]], Any], items: Sequence[T],
                 workers: int | None = None) -> list[Any]:
    """Run ``function`` on contiguous parts of ``items``, one part per core.

    BLAS/LAPACK (numpy's and torch's) run single-threaded meanwhile: on small and
    medium matrices one matrix per core beats one multi-threaded call per matrix (at 400
    nodes on 2 cores about 1.5x for eigendecompositions and 1.2x for ``syrk``), and numpy's
    and torch's linear algebra release the GIL. ``workers`` defaults to torch's thread
    count, so call this outside any block that lowers it.

    Returns
    -------
    list
        ``function``'s result for each part, in order.
    """
    workers = min(workers or cpu_workers(), len(items))
    if workers <= 1:
        return [function(items)]
    bounds = np.linspace(0, len(items), workers + 1).astype(int)
    parts = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    with _single_threaded_libraries(), ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, parts))


_LIMITS_LOCK = threading.Lock()
_limits_depth = 0
_limits_saved: tuple[Any, int] | None = None


@contextmanager
def _single_threaded_libraries() -> Iterator[None]:
    """BLAS/LAPACK and torch on one thread for the block, safe under concurrent callers.

    The thread counts are process-wide: the first caller to enter sets them and the last to
    leave restores them, so callers that overlap (e.g. a threaded Dask worker) cannot leave
    the process single-threaded.
    """
    global _limits_depth, _limits_saved
    with _LIMITS_LOCK:
        if _limits_depth == 0:
            _limits_saved = (threadpool_limits(limits=1, user_api="blas"),
                             torch.get_num_threads())
            torch.set_num_threads(1)
        _limits_depth += 1
    try:
        yield
    finally:
        with _LIMITS_LOCK:
            _limits_depth -= 1
            if _limits_depth == 0 and _limits_saved is not None:
                limiter, torch_before = _limits_saved
                limiter.restore_original_limits()
                torch.set_num_threads(torch_before)
                _limits_saved = None


def _log_factors(whitened: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``P, Q`` with ``logm(whitened) = P P^T - Q Q^T`` (two BLAS ``syrk`` instead of a gemm).

    Raises ``NotPositiveDefiniteError(0)`` for a matrix with an eigenvalue <= 0.
    """
    w, v = np.linalg.eigh(whitened)
    if not w[0] > 0:  # also catches NaN
        raise NotPositiveDefiniteError(0)
    f = np.log(w)  # ascending, like w
    k = int(np.searchsorted(f, 0.0, side="right"))
    return v[:, k:] * np.sqrt(f[k:]), v[:, :k] * np.sqrt(-f[:k])


def whitened_log(covariance: np.ndarray, whitening: np.ndarray) -> np.ndarray:
    """``logm(W C W)`` of one SPD matrix, exactly symmetric (numpy, float64)."""
    pos, neg = _log_factors(whitening @ covariance @ whitening)
    out = pos @ pos.T
    out -= neg @ neg.T
    return out


def whitened_log_sum(covariances: np.ndarray, whitening: np.ndarray) -> np.ndarray:
    """``sum_i logm(W C_i W)`` over a stack of SPD matrices, one matrix per core.

    Raises
    ------
    NotPositiveDefiniteError
        With the index of the first matrix that is not positive definite.
    """
    def part(indices: Sequence[int]) -> np.ndarray:
        acc = np.zeros_like(whitening)
        for i in indices:
            try:
                acc += whitened_log(covariances[i], whitening)
            except NotPositiveDefiniteError:
                raise NotPositiveDefiniteError(int(i)) from None
        return acc

    return sum(per_core_map(part, range(len(covariances))))


def whitened_logs(covariances: np.ndarray, whitening: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out[i] = logm(W C_i W)`` for a stack of SPD matrices, one matrix per core."""
    def part(indices: Sequence[int]) -> None:
        for i in indices:
            try:
                out[i] = whitened_log(covariances[i], whitening)
            except NotPositiveDefiniteError:
                raise NotPositiveDefiniteError(int(i)) from None

    per_core_map(part, range(len(covariances)))
