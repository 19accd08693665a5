"""Baseline representations: the raw connectome and the tangent-space connectome.

Raw FC is the Fisher-z upper triangle of ``dataset.fc``. Tangent-space FC needs a reference
(the geometric mean of covariances) fitted on a group; :class:`TangentSpace` is fitted on the
training fold's covariances only, inside every fold.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from neurocl._core.errors import DatasetError, ParameterError
from neurocl.connectivity.static import (
    CORRELATION_KINDS,
    KINDS,
    ConnectivityEstimator,
    fisher_z,
    normalize_kind,
)

#: diagonal loading (relative to the mean variance) used when stored covariances are singular
DIAGONAL_LOADING = 1e-3


def upper_triangle(matrices: np.ndarray, *, diagonal: bool = False) -> np.ndarray:
    """Vectorise symmetric matrices by their upper triangle.

    Parameters
    ----------
    matrices : ndarray of shape (n_samples, n_nodes, n_nodes)
        Symmetric matrices.
    diagonal : bool
        Keep the diagonal.

    Returns
    -------
    ndarray of shape (n_samples, n_nodes * (n_nodes - 1) / 2) or with the diagonal
    (n_samples, n_nodes * (n_nodes + 1) / 2)
    """
    n = matrices.shape[-1]
    rows, cols = np.triu_indices(n, k=0 if diagonal else 1)
    return np.asarray(matrices[:, rows, cols], dtype=np.float64)


def raw_fc_features(fc: np.ndarray, kind: str | None, fisher_z_applied: bool) -> np.ndarray:
    """Build the raw-connectome baseline features.

    Correlation kinds become Fisher-z upper triangles (the transform is applied here when the
    dataset stores plain correlations); other kinds (covariance, precision, tangent) keep
    their values, diagonal included, since it carries information there.

    Parameters
    ----------
    fc : ndarray of shape (n_samples, n_nodes, n_nodes)
        Static FC of the dataset.
    kind : str or None
        The dataset's FC kind (``meta["kind"]``); None is taken as correlation.
    fisher_z_applied : bool
        Whether ``fc`` is already Fisher z-transformed (``meta["fisher_z"]``).

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    text = (kind or "correlation").strip().lower().replace("_", " ").replace("-", " ")
    if text not in KINDS:  # EEG spectral measures (coh, wpli, aec...): values as they are
        return upper_triangle(np.asarray(fc, dtype=np.float64))
    key = normalize_kind(text)
    if key in CORRELATION_KINDS:
        matrices = np.asarray(fc, dtype=np.float64)
        if not fisher_z_applied:
            matrices = fisher_z(matrices.copy())
        return upper_triangle(matrices)
    return upper_triangle(np.asarray(fc, dtype=np.float64), diagonal=True)


class TangentSpace:
    """Tangent-space projection of covariances at their geometric mean.

    Parameters
    ----------
    device : str
        Torch device for the matrix functions.

    Attributes
    ----------
    reference_ : ndarray of shape (n_nodes, n_nodes)
        The geometric mean of the covariances given to :meth:`fit`.
    whitening_ : ndarray of shape (n_nodes, n_nodes)
        ``reference_ ** -1/2``.
    n_fit_ : int
        Number of covariances the reference was fitted on.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((6, 40, 5))
    >>> cov = np.einsum("stn,stm->snm", x, x) / 40
    >>> TangentSpace().fit(cov[:4]).transform(cov[4:]).shape
    (2, 15)
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def fit(self, covariances: np.ndarray) -> TangentSpace:
        """Fit the reference on ``covariances`` (n_samples, n_nodes, n_nodes)."""
        est = ConnectivityEstimator("tangent", device=self.device)
        est.fit_covariances(np.asarray(covariances, dtype=np.float64))
        self.estimator_ = est
        self.reference_ = est.mean_
        self.whitening_ = est.whitening_
        self.n_fit_ = len(covariances)
        return self

    def transform(self, covariances: np.ndarray) -> np.ndarray:
        """Project ``covariances`` and vectorise (one triangle with the diagonal).

        The vector is nilearn's ``sym_matrix_to_vec``: the lower triangle row by row, with
        the diagonal divided by sqrt(2) (so its norm is the Frobenius norm over sqrt(2)).

        Returns
        -------
        ndarray of shape (n_samples, n_nodes * (n_nodes + 1) / 2)
        """
        mats = self.estimator_.transform_covariances(np.asarray(covariances, dtype=np.float64))
        n = mats.shape[-1]
        rows, cols = np.tril_indices(n)
        scale = np.where(rows == cols, 1.0 / np.sqrt(2.0), 1.0)
        return mats[:, rows, cols] * scale

    def fit_transform(self, covariances: np.ndarray) -> np.ndarray:
        """Fit on ``covariances`` and project them."""
        return self.fit(covariances).transform(covariances)


def prepare_covariances(
    dataset: object, shrinkage: str = "ledoit-wolf"
) -> tuple[np.ndarray | None, str]:
    """Return the dataset's covariances ready for a tangent space, and a note.

    The tangent-space baseline follows the usual recipe (Varoquaux et al. 2010; Dadi et al.
    2019): Ledoit-Wolf shrunk covariances. With ``shrinkage="ledoit-wolf"`` stored
    covariances are used when the dataset says they are Ledoit-Wolf estimates, and are
    recomputed from the stored signals otherwise. Without signals, or with
    ``shrinkage="stored"``, the stored covariances are used as they are; singular ones are
    then recomputed from the signals when possible, or loaded on the diagonal by
    :data:`DIAGONAL_LOADING` times their mean variance.

    Parameters
    ----------
    dataset : FCDataset
        The dataset.
    shrinkage : {"ledoit-wolf", "stored"}
        Which covariances to use (see above).

    Returns
    -------
    covariances : ndarray of shape (n_samples, n_nodes, n_nodes) or None
        None when the dataset stores neither covariances nor signals (no tangent baseline).
    note : str
        What was done, for the report.
    """
    meta = getattr(dataset, "meta", {}) or {}
    stored_estimator = str(meta.get("covariance_estimator") or meta.get("shrinkage") or "")
    stored = getattr(dataset, "covariance", None)
    ts = getattr(dataset, "timeseries", None)
    path = getattr(dataset, "path", None)
    if shrinkage not in ("ledoit-wolf", "stored"):
        raise ParameterError(
            f"tangent covariance must be 'ledoit-wolf' or 'stored'; got {shrinkage!r}"
        )
    if shrinkage == "ledoit-wolf" and "ledoit" not in stored_estimator.lower() and ts is not None:
        cov = _ledoit_wolf(ts)
        return cov, "tangent reference from Ledoit-Wolf covariances of the stored signals"
    if stored is None:
        if ts is not None:
            cov = _ledoit_wolf(ts)
            return cov, "no stored covariance: Ledoit-Wolf covariances of the stored signals"
        return None, "no covariance.npy and no signals in the dataset: tangent baseline skipped"
    cov = np.asarray(stored, dtype=np.float64)
    if not np.all(np.isfinite(cov)):
        raise DatasetError("covariance.npy holds NaN or infinite values; rebuild the dataset",
                           path)
    label = stored_estimator or "estimator not recorded"
    if _all_spd(cov):
        return cov, f"tangent reference from the stored covariances ({label})"
    if ts is not None:
        cov = _ledoit_wolf(ts)
        return cov, "stored covariances are singular: recomputed with Ledoit-Wolf shrinkage"
    n = cov.shape[-1]
    load = DIAGONAL_LOADING * np.trace(cov, axis1=1, axis2=2) / n
    cov = cov + load[:, None, None] * np.eye(n)
    return cov, (
        f"stored covariances are singular and the dataset has no signals: diagonal loading of "
        f"{DIAGONAL_LOADING:g} x mean variance"
    )


def _ledoit_wolf(signals: Any) -> np.ndarray:
    with warnings.catch_warnings():  # memory-mapped signals are read-only; nothing writes them
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return ConnectivityEstimator("covariance", shrinkage="ledoit-wolf").covariances(signals)


def _all_spd(cov: np.ndarray) -> bool:
    sym = (cov + np.swapaxes(cov, -1, -2)) / 2
    w = np.linalg.eigvalsh(sym)
    return bool(np.all(w[:, 0] > 1e-10 * np.maximum(w[:, -1], 1e-300)))
