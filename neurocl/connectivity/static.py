"""Static functional connectivity: batched covariance estimators and FC kinds.

The computations follow nilearn's :class:`~nilearn.connectome.ConnectivityMeasure` for the
same covariance estimator (``EmpiricalCovariance`` or ``LedoitWolf``), batched over samples
in torch. Inverse- and eigen-based kinds (precision, partial correlation, tangent) always
compute in float64.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from neurocl._core.errors import InputFileError, ParameterError
from neurocl._core.validation import check_in
from neurocl.connectivity._linalg import (
    NotPositiveDefiniteError,
    form_symmetric,
    map_eigenvalues,
    per_core_map,
    whitened_log_sum,
    whitened_logs,
)

KINDS = ("correlation", "partial correlation", "covariance", "precision", "tangent")
CORRELATION_KINDS = ("correlation", "partial correlation")
INVERSE_KINDS = ("partial correlation", "precision", "tangent")
ESTIMATORS = ("empirical", "ledoit-wolf")
#: inverse/eigen kinds need this many time points per node without shrinkage
MIN_TIMEPOINTS_PER_NODE = 2.0


def normalize_kind(kind: str) -> str:
    """Return the canonical FC kind (``partial_correlation`` -> ``partial correlation``)."""
    key = kind.strip().lower().replace("_", " ").replace("-", " ")
    return check_in(key, KINDS, "kind")


def normalize_estimator(estimator: str | None) -> str:
    """Return the canonical covariance estimator name (``None`` means empirical)."""
    if estimator is None or estimator.lower() in ("none", "empirical", ""):
        return "empirical"
    key = estimator.strip().lower().replace("_", "-")
    if key in ("lw", "ledoitwolf", "ledoit-wolf"):
        return "ledoit-wolf"
    return check_in(key, ESTIMATORS, "shrinkage")


#: contractions shorter than this stay in torch's batched products (short windows: numpy
#: would call BLAS once per tiny matrix)
_NUMPY_MIN_LENGTH = 64
#: largest mean^2 / variance for which the covariance skips the centred copy of the signals
_CANCELLATION_RATIO = 1e4
#: rows per block of the in-cache elementwise passes over a covariance
_ROW_BLOCK = 64
#: least T * N^2 for which samples are computed one at a time straight into the outputs
#: (below it, the per-sample Python overhead outweighs the saved passes: 116 nodes x 168
#: frames was 1.5x slower that way)
_FUSED_MIN_WORK = 8e6
#: bytes of signals per chunk of the CPU loops, so that a chunk and its centred copy stay
#: in cache
_CHUNK_BYTES = 4e6


def _numpy_blas(x: torch.Tensor, length: int) -> bool:
    """Whether to multiply ``x`` through numpy (CPU, float, no autograd, long products)."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) \
        and not x.requires_grad and length >= _NUMPY_MIN_LENGTH


def gram(x: torch.Tensor, *, rows: bool = False) -> torch.Tensor:
    """Return ``x^T x`` (or ``x x^T`` with ``rows``) of each sample, exactly symmetric.

    On the CPU the product goes through numpy, whose matmul calls BLAS ``syrk`` for a
    matrix times its own transpose: half the flops of the general product torch uses.

    Parameters
    ----------
    x : Tensor of shape (batch, n_times, n_nodes), or (batch, n_nodes, n_times) with ``rows``
    rows : bool
        Products of the rows (the last axis is summed over) instead of the columns.

    Returns
    -------
    Tensor of shape (batch, n_nodes, n_nodes)
    """
    if _numpy_blas(x, x.shape[-1] if rows else x.shape[-2]):
        a = x.contiguous().numpy()
        at = a.transpose(0, 2, 1)
        return torch.from_numpy(np.matmul(a, at) if rows else np.matmul(at, a))
    return torch.matmul(x, x.mT) if rows else torch.matmul(x.mT, x)


def empirical_covariance(x: torch.Tensor) -> torch.Tensor:
    """Maximum-likelihood covariance of each sample (centred, divided by T).

    Parameters
    ----------
    x : Tensor of shape (batch, n_times, n_nodes)

    Returns
    -------
    Tensor of shape (batch, n_nodes, n_nodes)
    """
    if _numpy_blas(x, x.shape[1]):  # numpy, BLAS syrk for the product
        a = x.contiguous().numpy()
        mean = a.mean(axis=1)
        # X^T X / T - m m^T reads the signals once more instead of writing a centred copy;
        # it loses about log10(m^2 / var) digits, so signals whose means dwarf their spread
        # (m^2 > 1e4 var, e.g. raw scanner intensities) are centred first
        out = np.matmul(a.transpose(0, 2, 1), a)
        out /= a.shape[1]
        out -= mean[:, :, None] * mean[:, None, :]
        var = np.diagonal(out, axis1=1, axis2=2)
        risky = np.flatnonzero((mean**2 > _CANCELLATION_RATIO * np.abs(var)).any(axis=1))
        for i in risky:
            xc = a[i] - mean[i]
            out[i] = np.matmul(xc.T, xc) / a.shape[1]
        return torch.from_numpy(out)
    xc = x - x.mean(dim=1, keepdim=True)
    return gram(xc).div_(x.shape[1])


def _empirical_into(a: np.ndarray, cov: np.ndarray | None, fc: np.ndarray | None, *,
                    correlation: bool) -> None:
    """Write one (n_times, n_nodes) sample's empirical covariance and FC in place.

    ``cov`` gets the covariance, ``fc`` the covariance or Pearson correlation (either may be
    None).

    BLAS ``syrk`` writes ``X^T X`` straight into the output, and ``/ T - m m^T`` and the
    correlation scaling run on blocks of rows that stay in cache (1.3-1.6x faster than
    whole-matrix passes at 400 nodes). Means that dwarf the spread are centred first, as in
    :func:`empirical_covariance`.
    """
    target = cov if cov is not None else fc
    assert target is not None
    n_times = a.shape[0]
    mean = a.mean(axis=0)
    np.matmul(a.T, a, out=target)
    var = np.diagonal(target) / n_times - mean * mean
    if (mean * mean > _CANCELLATION_RATIO * np.abs(var)).any():
        centred = a - mean
        np.matmul(centred.T, centred, out=target)
        mean = np.zeros_like(mean)
        var = np.diagonal(target) / n_times
    for r in range(0, len(mean), _ROW_BLOCK):
        block = target[r : r + _ROW_BLOCK]
        block /= n_times
        block -= mean[r : r + _ROW_BLOCK, None] * mean[None, :]
    if fc is None:
        return
    if fc is not target:
        fc[...] = target
    if correlation:
        scale = 1.0 / np.sqrt(var)
        for r in range(0, len(scale), _ROW_BLOCK):
            fc[r : r + _ROW_BLOCK] *= scale[r : r + _ROW_BLOCK, None] * scale[None, :]
        np.fill_diagonal(fc, 1.0)


def ledoit_wolf(x: torch.Tensor, *, centred: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Ledoit-Wolf shrunk covariance of each sample, as scikit-learn computes it.

    Parameters
    ----------
    x : Tensor of shape (batch, n_times, n_nodes)
    centred : bool
        ``x`` has zero mean over time already (skips one pass and its copy).

    Returns
    -------
    covariance : Tensor of shape (batch, n_nodes, n_nodes)
    shrinkage : Tensor of shape (batch,)
    """
    n_times, n_nodes = x.shape[1], x.shape[2]
    xc = x if centred else x - x.mean(dim=1, keepdim=True)
    emp = gram(xc).div_(n_times)
    if n_nodes == 1:
        return emp, torch.zeros(len(x), dtype=x.dtype, device=x.device)
    emp_trace = torch.diagonal(emp, dim1=-2, dim2=-1)  # (batch, n_nodes), a view
    mu = emp_trace.mean(dim=1)
    # sum_ij (X2^T X2)_ij = sum_t (sum_i x_ti^2)^2: no second matrix product needed
    beta_ = torch.linalg.vector_norm(xc, dim=2).square_().square_().sum(dim=1)
    delta_ = torch.linalg.matrix_norm(emp).square_()
    beta = (beta_ / n_times - delta_) / (n_nodes * n_times)
    delta = (delta_ - 2.0 * mu * emp_trace.sum(dim=1) + n_nodes * mu**2) / n_nodes
    beta = torch.minimum(beta, delta)
    shrinkage = torch.where(beta == 0, torch.zeros_like(beta), beta / delta)
    # (1 - shrinkage) * emp + shrinkage * mu * I, in place
    emp.mul_((1.0 - shrinkage)[:, None, None])
    emp_trace.add_((shrinkage * mu)[:, None])
    return emp, shrinkage


def cov_to_corr(cov: torch.Tensor, *, inplace: bool = False) -> torch.Tensor:
    """Normalise covariances to correlations (diagonal exactly 1).

    Parameters
    ----------
    cov : Tensor of shape (..., n, n)
    inplace : bool
        Overwrite ``cov`` (saves two temporaries of its size).
    """
    d = torch.rsqrt(torch.diagonal(cov, dim1=-2, dim2=-1))
    corr = cov if inplace else cov.clone()
    corr.mul_(d.unsqueeze(-1) * d.unsqueeze(-2))  # d_i d_j in one factor: exactly symmetric
    corr.diagonal(dim1=-2, dim2=-1).fill_(1.0)
    return corr


def prec_to_partial(precision: torch.Tensor) -> torch.Tensor:
    """Partial correlations from precision matrices (diagonal exactly 1)."""
    partial = -cov_to_corr(precision)
    partial.diagonal(dim1=-2, dim2=-1).fill_(1.0)
    return partial


def fisher_z(fc: np.ndarray | torch.Tensor, eps: float = 1e-7) -> Any:
    """Fisher z-transform (arctanh) of correlation matrices, diagonal set to zero.

    Parameters
    ----------
    fc : ndarray or Tensor of shape (..., n_nodes, n_nodes)
        Correlation-type matrices with values in [-1, 1].
    eps : float
        Values are clipped to ``[-1 + eps, 1 - eps]`` before the transform.

    Returns
    -------
    Same type and shape as ``fc``.
    """
    if isinstance(fc, torch.Tensor):
        z = torch.atanh(fc.clamp(-1 + eps, 1 - eps))
        z.diagonal(dim1=-2, dim2=-1).zero_()
        return z
    z = np.arctanh(np.clip(fc, -1 + eps, 1 - eps))
    idx = np.arange(z.shape[-1])
    z[..., idx, idx] = 0.0
    return z


def _float64_chunks(
    covariances: torch.Tensor | np.ndarray, chunk_size: int | None, device: str | torch.device
) -> Iterator[torch.Tensor]:
    if isinstance(covariances, torch.Tensor) and chunk_size is None:
        yield covariances
        return
    step = chunk_size or len(covariances)
    for start in range(0, len(covariances), step):
        yield torch.as_tensor(
            np.asarray(covariances[start : start + step]), dtype=torch.float64, device=device
        )


def geometric_mean(
    covariances: torch.Tensor | np.ndarray,
    max_iter: int = 30,
    tol: float | None = 1e-7,
    *,
    chunk_size: int | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Riemannian geometric mean of SPD matrices (the tangent-space reference).

    The same gradient descent as nilearn (Fletcher & Joshi 2007, algorithm 3) with the same
    step halving and stopping rule, batched over matrices.

    Parameters
    ----------
    covariances : Tensor or ndarray of shape (batch, n, n)
        Symmetric positive definite matrices (computed in float64). A memory-mapped array
        is read ``chunk_size`` matrices at a time, once per iteration.
    max_iter : int
        Maximum number of gradient steps.
    tol : float or None
        Stop when the gradient norm divided by ``n * n`` falls below it.
    chunk_size : int, optional
        Matrices per chunk (None: all at once).
    device : str or torch.device
        Where chunks are computed.

    Returns
    -------
    Tensor of shape (n, n)
    """
    return _geometric_mean(covariances, max_iter, tol, chunk_size=chunk_size, device=device)[0]


def _geometric_mean(
    covariances: torch.Tensor | np.ndarray,
    max_iter: int,
    tol: float | None,
    *,
    chunk_size: int | None,
    device: str | torch.device,
) -> tuple[torch.Tensor, int]:
    """:func:`geometric_mean` and the number of gradient steps it took."""
    total = len(covariances)
    on_cpu = (covariances.device.type if isinstance(covariances, torch.Tensor)
              else torch.device(device).type) == "cpu"
    if on_cpu:
        device = "cpu"
    gmean = sum(c.sum(dim=0) for c in _float64_chunks(covariances, chunk_size, device)) / total
    norm_old = math.inf
    step = 1.0
    norm = math.inf
    n_iter = 0
    for _ in range(max_iter):
        n_iter += 1
        vals, vecs = torch.linalg.eigh(gmean)
        inv_sqrt = form_symmetric(lambda v: torch.sqrt(1.0 / v), vals, vecs)
        if on_cpu:  # one matrix per core, numpy's LAPACK
            logs_mean = torch.from_numpy(_cpu_log_sum(covariances, inv_sqrt.numpy(), chunk_size))
            logs_mean /= total
        else:
            logs_mean = sum(
                map_eigenvalues(torch.log, inv_sqrt @ c @ inv_sqrt).sum(dim=0)
                for c in _float64_chunks(covariances, chunk_size, device)
            ) / total
        if torch.isnan(logs_mean).any():
            raise FloatingPointError("NaN after the matrix logarithm")
        norm = float(torch.linalg.norm(logs_mean))
        vals_log, vecs_log = torch.linalg.eigh(logs_mean)
        gmean_sqrt = form_symmetric(torch.sqrt, vals, vecs)
        gmean = gmean_sqrt @ form_symmetric(torch.exp, vals_log * step, vecs_log) @ gmean_sqrt
        if norm < norm_old:
            norm_old = norm
        elif norm > norm_old:
            step /= 2.0
            norm = norm_old
        if tol is not None and norm / gmean.numel() < tol:
            break
    else:
        if tol is not None and norm / gmean.numel() >= tol:
            warnings.warn(
                f"geometric mean: {max_iter} iterations reached without the tolerance {tol}",
                RuntimeWarning,
                stacklevel=3,
            )
    return gmean, n_iter


def _cpu_log_sum(covariances: torch.Tensor | np.ndarray, whitening: np.ndarray,
                 chunk_size: int | None) -> np.ndarray:
    """``sum_i logm(W C_i W)`` on the CPU, reading ``chunk_size`` matrices at a time."""
    if isinstance(covariances, torch.Tensor):
        covariances = covariances.detach().numpy()
    step = chunk_size or len(covariances)
    total = np.zeros_like(whitening)
    for start in range(0, len(covariances), step):
        block = np.asarray(covariances[start : start + step], dtype=np.float64)
        try:
            total += whitened_log_sum(block, whitening)
        except NotPositiveDefiniteError as exc:
            _not_spd_error(None, start + exc.index)
    return total


def tangent_transform(covariances: torch.Tensor, whitening: torch.Tensor) -> torch.Tensor:
    """Project covariances to the tangent space at the reference: ``logm(W C W)``.

    On the CPU each matrix is whitened, decomposed and rebuilt on one core (numpy's LAPACK,
    single-threaded), with the rebuild as two symmetric rank-k products.
    """
    if covariances.device.type == "cpu" and covariances.ndim == 3 \
            and not covariances.requires_grad:
        out = np.empty(covariances.shape, dtype=np.float64)
        try:
            whitened_logs(covariances.numpy(), whitening.numpy(), out)
        except NotPositiveDefiniteError as exc:
            _not_spd_error(None, exc.index, "of its chunk")
        return torch.from_numpy(out)
    return map_eigenvalues(torch.log, whitening @ covariances @ whitening)


def _as_batches(
    signals: np.ndarray | torch.Tensor | Sequence[np.ndarray], chunk: int
) -> list[tuple[np.ndarray, np.ndarray | torch.Tensor]]:
    """Group samples of equal length into (indices, stacked batch) chunks."""
    if isinstance(signals, (np.ndarray, torch.Tensor)) and signals.ndim == 3:
        idx = np.arange(len(signals))
        return [(idx[i : i + chunk], signals[i : i + chunk]) for i in range(0, len(idx), chunk)]
    by_len: dict[int, list[int]] = {}
    for i, s in enumerate(signals):
        by_len.setdefault(int(s.shape[0]), []).append(i)
    out = []
    for members in by_len.values():
        for start in range(0, len(members), chunk):
            sel = np.asarray(members[start : start + chunk])
            out.append((sel, np.stack([np.asarray(signals[i]) for i in sel])))
    return out


class ConnectivityEstimator:
    """Batched FC estimator, a faster equivalent of nilearn's ``ConnectivityMeasure``.

    Parameters
    ----------
    kind : {"correlation", "partial correlation", "covariance", "precision", "tangent"}
        What to compute from each sample's covariance.
    shrinkage : {"empirical", "ledoit-wolf"} or None
        The covariance estimator; ``None`` means empirical (no shrinkage).
    fisher_z : bool
        Apply the Fisher z-transform (correlation kinds only; diagonal zeroed).
    device : str
        Torch device for the computation.
    chunk_size : int
        Samples per batch (bounds memory).
    allow_short : bool
        Permit inverse/eigen kinds without shrinkage when T < 2 N (at your own risk).

    Attributes
    ----------
    mean_ : ndarray of shape (n_nodes, n_nodes)
        After ``fit`` with kind tangent: the geometric-mean reference.
    whitening_ : ndarray of shape (n_nodes, n_nodes)
        ``mean_ ** -1/2`` for kind tangent.
    n_iter_ : int
        Gradient steps the geometric mean took (kind tangent).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((4, 50, 6))
    >>> ConnectivityEstimator("correlation").fit_transform(x).shape
    (4, 6, 6)
    """

    def __init__(
        self,
        kind: str = "correlation",
        shrinkage: str | None = None,
        fisher_z: bool = False,
        device: str = "cpu",
        chunk_size: int = 32,
        allow_short: bool = False,
    ) -> None:
        self.kind = kind
        self.shrinkage = shrinkage
        self.fisher_z = fisher_z
        self.device = device
        self.chunk_size = chunk_size
        self.allow_short = allow_short

    def check_input(self, n_times: int, n_nodes: int) -> tuple[str, str]:
        """Validate the options for signals of ``n_times`` x ``n_nodes``; return kind, estimator."""
        kind = normalize_kind(self.kind)
        estimator = normalize_estimator(self.shrinkage)
        if self.fisher_z and kind not in CORRELATION_KINDS:
            raise ParameterError(
                f"Fisher z applies to correlation kinds only, not {kind!r}; drop --fisher-z"
            )
        if (
            kind in INVERSE_KINDS
            and estimator == "empirical"
            and not self.allow_short
            and n_times < MIN_TIMEPOINTS_PER_NODE * n_nodes
        ):
            raise ParameterError(
                f"kind {kind!r} needs shrinkage with {n_times} time points for {n_nodes} nodes "
                f"(fewer than {MIN_TIMEPOINTS_PER_NODE:g} per node): pass --shrinkage "
                "ledoit-wolf, or use longer windows"
            )
        return kind, estimator

    def covariances(
        self, signals: np.ndarray | Sequence[np.ndarray], *, standardize: bool = False
    ) -> np.ndarray:
        """Per-sample covariance with the chosen estimator, float64.

        Parameters
        ----------
        signals : ndarray (n_samples, n_times, n_nodes) or list of (n_times_i, n_nodes)
        standardize : bool
            z-score each signal (ddof=1) first, as nilearn does for kind correlation.

        Returns
        -------
        ndarray of shape (n_samples, n_nodes, n_nodes)
        """
        n = len(signals)
        n_nodes = int(np.shape(signals[0])[-1])
        out = np.empty((n, n_nodes, n_nodes), dtype=np.float64)
        for idx, batch in _as_batches(signals, self.chunk_size):
            out[idx] = self._batch_covariance(self._tensor(batch), standardize).cpu().numpy()
        return out

    def _tensor(self, batch: np.ndarray | torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(np.asarray(batch), dtype=torch.float64, device=self.device)

    def _batch_covariance(self, x: torch.Tensor, standardize: bool = False) -> torch.Tensor:
        """Covariance of a (batch, n_times, n_nodes) tensor with this estimator."""
        if standardize:  # one centred copy, scaled in place
            x = x - x.mean(dim=1, keepdim=True)
            std = torch.linalg.vector_norm(x, dim=1, keepdim=True) / np.sqrt(x.shape[1] - 1)
            x.div_(torch.where(std < np.finfo(np.float64).eps, torch.ones_like(std), std))
        if normalize_estimator(self.shrinkage) == "ledoit-wolf":
            return ledoit_wolf(x, centred=standardize)[0]
        return empirical_covariance(x)

    def _batch_fc(
        self, cov: torch.Tensor | None, x: torch.Tensor | None = None, *, owned: bool = False
    ) -> torch.Tensor:
        """FC of this kind from a batch of covariances and/or signals.

        For kind correlation with Ledoit-Wolf shrinkage nilearn shrinks the z-scored signals,
        so ``x`` (the batch's signals) is used to compute that covariance; ``cov=None``
        computes the covariance from ``x``. Kind tangent needs ``fit`` first. ``owned=True``
        lets the computation overwrite ``cov``.
        """
        kind = normalize_kind(self.kind)
        if cov is None:
            owned = True
            if x is None:
                raise ValueError("give covariances or signals")
            if not (kind == "correlation" and normalize_estimator(self.shrinkage) == "ledoit-wolf"):
                cov = self._batch_covariance(x)
        if kind == "covariance":
            fc = cov
        elif kind == "correlation":
            if x is not None and normalize_estimator(self.shrinkage) == "ledoit-wolf":
                cov = self._batch_covariance(x, standardize=True)
                owned = True
            assert cov is not None
            fc = cov_to_corr(cov, inplace=owned)
        elif kind == "precision":
            fc = spd_inverse(cov)
        elif kind == "partial correlation":
            fc = prec_to_partial(spd_inverse(cov))
        else:
            if not hasattr(self, "whitening_"):
                raise ParameterError("kind tangent needs fit() before transform()")
            w = torch.as_tensor(self.whitening_, dtype=torch.float64, device=cov.device)
            fc = tangent_transform(cov, w)
        if self.fisher_z:
            fc = fisher_z(fc)
        return fc

    def covariances_and_fc(
        self, signals: np.ndarray | Sequence[np.ndarray], *, keep_covariance: bool = True
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per-sample covariance and FC in one pass (FC is None for kind tangent).

        Parameters
        ----------
        signals : ndarray (n_samples, n_times, n_nodes) or list of (n_times_i, n_nodes)

        Returns
        -------
        covariance : ndarray of shape (n_samples, n_nodes, n_nodes), float64
        fc : ndarray of shape (n_samples, n_nodes, n_nodes), float64, or None
        """
        kind, estimator = self.check_input(*self._min_times(signals))
        n, n_nodes = len(signals), int(np.shape(signals[0])[-1])
        keep_covariance = keep_covariance or kind == "tangent"
        cov_out = np.empty((n, n_nodes, n_nodes)) if keep_covariance else None
        fc_out = None if kind == "tangent" else np.empty((n, n_nodes, n_nodes))
        # correlation with shrinkage uses its own (z-scored) covariance: skip the raw one
        own = kind == "correlation" and estimator == "ledoit-wolf" and not keep_covariance
        n_times = self._min_times(signals)[0]
        chunk = max(1, min(self.chunk_size, int(_CHUNK_BYTES // (8 * n_times * n_nodes))))
        batches = _as_batches(signals, chunk)

        per_core = self.per_core(n_times)
        fused = per_core and estimator == "empirical" and kind in (
            "correlation", "covariance", "tangent") and n_times * n_nodes**2 >= _FUSED_MIN_WORK

        def run(part: Sequence[tuple[np.ndarray, Any]]) -> None:
            for idx, batch in part:
                if fused:  # straight into the outputs, one sample at a time
                    a = np.asarray(batch, dtype=np.float64)
                    for j, i in enumerate(idx):
                        _empirical_into(a[j], None if cov_out is None else cov_out[i],
                                        None if fc_out is None else fc_out[i],
                                        correlation=kind == "correlation")
                        if self.fisher_z and fc_out is not None:
                            fc_out[i] = fisher_z(fc_out[i])
                    continue
                x = self._tensor(batch)
                cov = None if own else self._batch_covariance(x)
                if cov_out is not None and cov is not None:
                    cov_out[idx] = cov.cpu().numpy()
                if fc_out is not None:  # cov was copied out above: it may be overwritten
                    fc_out[idx] = self._batch_fc(cov, x, owned=True).cpu().numpy()

        if per_core:  # CPU and numpy's BLAS: one chunk per core, one thread each
            per_core_map(run, batches)
        else:
            run(batches)
        return cov_out, fc_out

    def per_core(self, n_times: int) -> bool:
        """Whether the static loop runs one chunk per core with single-threaded BLAS.

        That is on the CPU, for samples of at least ``_NUMPY_MIN_LENGTH`` frames, whose
        products go through numpy's BLAS (one chunk per core is faster than multi-threaded
        BLAS calls on small and medium matrices, and the batched Cholesky inverses are
        faster on one torch thread too). Shorter samples stay in torch's batched products.
        """
        return torch.device(self.device).type == "cpu" and n_times >= _NUMPY_MIN_LENGTH

    def _min_times(self, signals: np.ndarray | Sequence[np.ndarray]) -> tuple[int, int]:
        if isinstance(signals, np.ndarray) and signals.ndim == 3:
            return signals.shape[1], signals.shape[2]
        return min(int(np.shape(s)[0]) for s in signals), int(np.shape(signals[0])[-1])

    def fit(self, signals: np.ndarray | Sequence[np.ndarray]) -> ConnectivityEstimator:
        """Fit the estimator (for kind tangent: the geometric-mean reference).

        Parameters
        ----------
        signals : ndarray (n_samples, n_times, n_nodes) or list of (n_times_i, n_nodes)

        Returns
        -------
        self
        """
        self.fit_transform(signals)
        return self

    def fit_covariances(self, covariances: np.ndarray) -> ConnectivityEstimator:
        """Fit the tangent reference from precomputed covariances (n_samples, n, n).

        A memory-mapped array is read ``chunk_size`` matrices at a time.
        """
        for start in range(0, len(covariances), self.chunk_size):
            _check_spd(
                torch.as_tensor(np.asarray(covariances[start : start + self.chunk_size]),
                                dtype=torch.float64, device=self.device),
                offset=start,
            )
        if isinstance(covariances, np.ndarray) and len(covariances) <= max(self.chunk_size, 512):
            covariances = torch.as_tensor(covariances, dtype=torch.float64, device=self.device)
        mean, self.n_iter_ = _geometric_mean(covariances, 30, 1e-7,
                                             chunk_size=max(self.chunk_size, 512),
                                             device=self.device)
        self.mean_ = mean.cpu().numpy()
        self.whitening_ = map_eigenvalues(lambda v: 1.0 / torch.sqrt(v), mean).cpu().numpy()
        return self

    def transform_covariances(self, covariances: np.ndarray) -> np.ndarray:
        """Turn covariances (n_samples, n, n) into FC of this estimator's kind."""
        out = np.empty(np.shape(covariances), dtype=np.float64)
        step = max(self.chunk_size, 512)  # eigen/inverse work: large batches for the threads
        for start in range(0, len(covariances), step):
            cov = self._tensor(covariances[start : start + step])
            out[start : start + len(cov)] = self._batch_fc(cov).cpu().numpy()
        return out

    def fit_transform(self, signals: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Compute the FC of every sample (fitting the tangent reference when needed).

        Parameters
        ----------
        signals : ndarray (n_samples, n_times, n_nodes) or list of (n_times_i, n_nodes)

        Returns
        -------
        ndarray of shape (n_samples, n_nodes, n_nodes), float64
        """
        cov, fc = self.covariances_and_fc(signals, keep_covariance=False)
        if fc is not None:
            return fc
        assert cov is not None
        self.fit_covariances(cov)
        return self.transform_covariances(cov)

    def transform(self, signals: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Compute FC with an already fitted reference (kind tangent) or none."""
        cov, fc = self.covariances_and_fc(signals, keep_covariance=False)
        if fc is not None:
            return fc
        assert cov is not None
        return self.transform_covariances(cov)


def spd_inverse(cov: torch.Tensor) -> torch.Tensor:
    """Inverse of symmetric positive definite matrices through their Cholesky factors.

    Half the flops of an LU inverse, and a different LAPACK path: with torch 2.13's CPU
    build, batched LU inverses of 200+ node matrices fail once ``torch.set_num_threads`` has
    been called in the process.

    Parameters
    ----------
    cov : Tensor of shape (batch, n, n)

    Returns
    -------
    Tensor of shape (batch, n, n)

    Raises
    ------
    InputFileError
        When a matrix is not positive definite.
    """
    factor, info = torch.linalg.cholesky_ex(cov)
    _refuse_not_spd(info != 0, "of its chunk")
    return torch.cholesky_inverse(factor)


def _check_spd(cov: torch.Tensor, offset: int = 0) -> None:
    """Refuse a batch with a matrix that has no Cholesky factor (a sixth of an ``eigvalsh``).

    The tangent kernels check the eigenvalues of every whitened matrix again.
    """
    _refuse_not_spd(torch.linalg.cholesky_ex(cov).info != 0, offset=offset)


def _refuse_not_spd(bad_mask: torch.Tensor, where: str = "", offset: int = 0) -> None:
    """Raise :class:`InputFileError` when any matrix of the batch is not positive definite."""
    bad = torch.nonzero(bad_mask).flatten()
    if len(bad):
        _not_spd_error(len(bad), int(bad[0]) + offset, where)


def _not_spd_error(count: int | None, first: int, where: str = "") -> None:
    """Raise the not-positive-definite :class:`InputFileError` (``count`` None: unknown)."""
    what = (f"{count} covariance matrices are not positive definite (first: sample"
            if count is not None else "a covariance matrix is not positive definite (sample")
    raise InputFileError(
        f"{what} {first}{' ' + where if where else ''}); the signals are "
        "rank-deficient (e.g. confound-regressed): pass --shrinkage ledoit-wolf"
    )


def connectivity(
    signals: np.ndarray | Sequence[np.ndarray],
    kind: str = "correlation",
    *,
    shrinkage: str | None = None,
    fisher_z: bool = False,
    device: str = "cpu",
) -> np.ndarray:
    """Compute static FC of every sample in one call.

    Parameters
    ----------
    signals : ndarray (n_samples, n_times, n_nodes) or list of (n_times_i, n_nodes)
        Time x nodes signals.
    kind : str
        One of :data:`KINDS`.
    shrinkage : {"empirical", "ledoit-wolf"} or None
        Covariance estimator.
    fisher_z : bool
        Fisher z-transform (correlation kinds; diagonal zeroed).
    device : str
        Torch device.

    Returns
    -------
    ndarray of shape (n_samples, n_nodes, n_nodes), float64
    """
    est = ConnectivityEstimator(kind, shrinkage=shrinkage, fisher_z=fisher_z, device=device)
    return est.fit_transform(signals)
