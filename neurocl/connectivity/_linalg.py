"""Batched symmetric-matrix functions in torch (float64 for inverse and eigen kinds)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch

_PARALLEL_MIN_BATCH = 32


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None: unchanged).

    The CPU FC loops leave the matrix products to numpy's multi-threaded BLAS and run their
    elementwise torch steps on one thread: torch's idle worker threads would otherwise spin
    on the same cores as BLAS (about 1.5x slower on 2 cores).
    """
    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def batched_eigh(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigendecomposition of a batch of symmetric matrices.

    On the CPU the batch is split across ``torch.get_num_threads()`` Python threads (torch
    releases the GIL), each running LAPACK's ``syevd`` on one core: torch is set to one
    intra-op thread meanwhile, since a multi-threaded ``syevd`` per matrix is slower than one
    matrix per core (about 1.5x at 400 nodes on 2 cores).

    Parameters
    ----------
    a : Tensor of shape (batch, n, n)
        Symmetric matrices.

    Returns
    -------
    eigenvalues : Tensor of shape (batch, n)
    eigenvectors : Tensor of shape (batch, n, n)
    """
    n_threads = torch.get_num_threads()
    if a.device.type != "cpu" or a.ndim != 3 or n_threads < 2 or len(a) < _PARALLEL_MIN_BATCH:
        return torch.linalg.eigh(a)
    chunks = torch.tensor_split(a, n_threads)
    with torch_threads(1), ThreadPoolExecutor(max_workers=n_threads) as pool:
        parts = list(pool.map(torch.linalg.eigh, chunks))
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
