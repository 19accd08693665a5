"""From per-sample signals or matrices to a dataset directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from neurocl._core.errors import InputFileError, ParameterError
from neurocl._core.progress import ProgressCallback, no_progress
from neurocl.connectivity.dynamic import dynamic_connectivity, n_windows
from neurocl.connectivity.static import (
    CORRELATION_KINDS,
    ConnectivityEstimator,
    normalize_estimator,
    normalize_kind,
)
from neurocl.connectivity.static import fisher_z as fisher_transform
from neurocl.data.dataset import DatasetWriter, FCDataset, write_dataset, write_timeseries


def _where(sources: Sequence[str] | None, i: int, subjects: pd.DataFrame) -> tuple[str | None, str]:
    src = sources[i] if sources is not None else None
    return src, f"sample {subjects['sample_id'].iloc[i]!r}"


def check_signals(
    signals: Sequence[np.ndarray],
    subjects: pd.DataFrame,
    node_names: Sequence[str],
    sources: Sequence[str] | None = None,
) -> None:
    """Refuse signals with NaN, constant ROIs, too few frames or unequal node counts.

    Parameters
    ----------
    signals : sequence of ndarray (n_times, n_nodes)
    subjects : DataFrame
        One row per sample (for messages).
    node_names : sequence of str
        Node names (for messages).
    sources : sequence of str, optional
        The file of each sample (for messages).

    Raises
    ------
    InputFileError
        Naming the file, the sample and the problem.
    """
    n_nodes = signals[0].shape[1]
    for i, x in enumerate(signals):
        src, what = _where(sources, i, subjects)
        if x.ndim != 2:
            raise InputFileError(f"{what}: expected time x nodes, got shape {x.shape}", src)
        if x.shape[1] != n_nodes:
            raise InputFileError(
                f"{what} has {x.shape[1]} nodes but the first sample has {n_nodes}; every "
                "sample must use the same atlas (same nodes, same order)",
                src,
            )
        if x.shape[0] < 3:
            raise InputFileError(f"{what} has {x.shape[0]} time points; FC needs more", src)
        bad = ~np.isfinite(x)
        if bad.any():
            t, j = np.argwhere(bad)[0]
            raise InputFileError(
                f"{what}: ROI {node_names[j]!r} has NaN/inf values (first at frame {t}); fix or "
                "drop that ROI (e.g. ROIs outside the brain mask) before building",
                src,
            )
        flat = np.ptp(x, axis=0) <= 1e-12 * max(1.0, float(np.abs(x).max()))
        if flat.any():
            j = int(np.flatnonzero(flat)[0])
            raise InputFileError(
                f"{what}: ROI {node_names[j]!r} is constant ({int(flat.sum())} constant ROIs); "
                "its correlations are undefined: drop those ROIs or check the extraction",
                src,
            )


def check_matrices(
    matrices: Sequence[np.ndarray], subjects: pd.DataFrame, sources: Sequence[str] | None = None
) -> None:
    """Refuse non-square, asymmetric, non-finite or unequal-size matrices.

    Raises
    ------
    InputFileError
        Naming the file, the sample and the problem.
    """
    n = matrices[0].shape[0]
    for i, m in enumerate(matrices):
        src, what = _where(sources, i, subjects)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise InputFileError(
                f"{what}: matrix of shape {m.shape} is not square; give nodes x nodes matrices",
                src,
            )
        if m.shape[0] != n:
            raise InputFileError(
                f"{what} has {m.shape[0]} nodes but the first sample has {n}; every matrix must "
                "use the same atlas",
                src,
            )
        if not np.isfinite(m).all():
            raise InputFileError(f"{what}: matrix holds NaN/inf values; fix the input", src)
        scale = max(float(np.abs(m).max()), 1e-12)
        asym = float(np.abs(m - m.T).max())
        if asym > 1e-5 * scale:
            raise InputFileError(
                f"{what}: matrix is not symmetric (max |A - A^T| = {asym:.3g}); give symmetric "
                "connectivity matrices (or --input-type timeseries if these are signals)",
                src,
            )


def build_from_signals(
    out: str | Path,
    signals: Sequence[np.ndarray],
    subjects: pd.DataFrame,
    nodes: pd.DataFrame,
    *,
    kind: str = "correlation",
    shrinkage: str | None = None,
    fisher_z: bool = False,
    window: int | None = None,
    stride: int = 1,
    meta: dict[str, Any] | None = None,
    sources: Sequence[str] | None = None,
    device: str = "cpu",
    overwrite: bool = False,
    chunk_size: int = 256,
    n_jobs: int = 1,
    progress: ProgressCallback = no_progress,
) -> FCDataset:
    """Compute static (and optionally dynamic) FC from signals and write the dataset.

    Samples are processed ``chunk_size`` at a time and written into memory-mapped arrays,
    so memory stays bounded by one chunk (dynamic FC of kind tangent excepted: its
    reference needs every window at once).

    Parameters
    ----------
    out : str or Path
        Dataset directory to write.
    signals : sequence of ndarray (n_times_i, n_nodes)
        Cleaned signals, time x nodes, one per sample.
    subjects : DataFrame
        One row per sample (``sample_id``, ``subject_id``, ...).
    nodes : DataFrame
        One row per node (``name``, ``network``, ``x``, ``y``, ``z``).
    kind : str
        FC kind (see :data:`neurocl.connectivity.KINDS`).
    shrinkage : {"empirical", "ledoit-wolf"} or None
        Covariance estimator for FC and the stored covariance.
    fisher_z : bool
        Fisher z-transform of correlation kinds (diagonal zeroed).
    window, stride : int
        Sliding-window length and step in frames for dynamic FC (``window=None``: none).
    meta : dict, optional
        Extra metadata (modality, atlas, cleaning, t_r, ...).
    sources : sequence of str, optional
        The file of each sample, for error messages.
    device : str
        Torch device for the FC computation.
    overwrite : bool
        Replace an existing dataset.
    chunk_size : int
        Samples per chunk.
    n_jobs : int
        Chunks computed in parallel (joblib; runs on a Dask cluster inside
        :func:`neurocl._core.parallel.parallel_backend`).
    progress : callable
        Progress callback.

    Returns
    -------
    FCDataset
    """
    kind = normalize_kind(kind)
    estimator_name = normalize_estimator(shrinkage)
    names = nodes["name"].astype(str).tolist()
    check_signals(signals, subjects, names, sources)
    lengths = [int(x.shape[0]) for x in signals]
    n_samples, n_nodes = len(signals), int(signals[0].shape[1])
    if window is not None:
        short = [i for i, t in enumerate(lengths) if t < window]
        if short:
            src, what = _where(sources, short[0], subjects)
            raise InputFileError(
                f"{what} has {lengths[short[0]]} time points, fewer than the window of "
                f"{window} ({len(short)} such samples); use a shorter --window",
                src,
            )
        if len({n_windows(t, window, stride) for t in lengths}) != 1:
            raise InputFileError(
                "samples of different lengths give different numbers of windows; dynamic FC "
                "needs runs of equal length: trim them to the same length first",
                sources[0] if sources else None,
            )
    est = ConnectivityEstimator(kind, shrinkage=estimator_name, fisher_z=fisher_z, device=device)
    est.check_input(min(lengths), n_nodes)
    chunks = [np.arange(i, min(i + chunk_size, n_samples)) for i in range(0, n_samples,
                                                                           chunk_size)]
    n_steps = len(chunks) * (2 if window else 1) + (len(chunks) if kind == "tangent" else 0)
    done = 0
    window_meta = None
    with DatasetWriter(out, overwrite=overwrite) as writer:
        fc_out = writer.allocate("fc", (n_samples, n_nodes, n_nodes))
        cov_out = writer.allocate("covariance", (n_samples, n_nodes, n_nodes), np.float64)
        write_timeseries(writer, signals)
        try:
            jobs = (
                delayed(_signal_chunk)(est, [np.asarray(signals[i]) for i in idx])
                for idx in chunks
            )
            results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
            for idx, (cov, fc) in zip(chunks, results, strict=True):
                cov_out[idx] = cov
                if fc is not None:
                    fc_out[idx] = fc
                done += 1
                progress("fc", done, n_steps)
            if kind == "tangent":
                est.fit_covariances(cov_out)
                for idx in chunks:
                    fc_out[idx] = est.transform_covariances(cov_out[idx])
                    done += 1
                    progress("fc", done, n_steps)
            if window is not None:
                n_win = n_windows(lengths[0], window, stride)
                dfc_out = writer.allocate("dynamic_fc", (n_samples, n_win, n_nodes, n_nodes))
                dyn_chunks = [np.arange(n_samples)] if kind == "tangent" else chunks
                for idx in dyn_chunks:  # tangent: one reference over all windows
                    dfc_out[idx] = dynamic_connectivity(
                        [signals[i] for i in idx], window, stride, kind,
                        shrinkage=estimator_name, fisher_z=fisher_z, device=device,
                    )
                    done += 1 if kind != "tangent" else len(chunks)
                    progress("fc", done, n_steps)
                window_meta = {"length": window, "stride": stride, "n_windows": n_win}
        except FloatingPointError as exc:
            raise ParameterError(
                f"kind {kind!r} failed numerically ({exc}); pass --shrinkage ledoit-wolf"
            ) from exc
        full_meta = {
            "modality": "fmri",
            **(meta or {}),
            "kind": kind,
            "shrinkage": estimator_name,
            "fisher_z": bool(fisher_z),
            "covariance_estimator": estimator_name,
            "window": window_meta,
        }
        if kind == "tangent":
            full_meta["tangent_note"] = (
                "reference fitted on all samples of this dataset (for exploration); probes "
                "refit it inside each training fold from covariance.npy"
            )
        writer.finish(subjects, nodes, full_meta)
    return FCDataset(out)


def _signal_chunk(
    est: ConnectivityEstimator, batch: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Covariances and (except for tangent) FC of one chunk of samples."""
    return est.covariances_and_fc(batch)


def build_from_matrices(
    out: str | Path,
    matrices: Sequence[np.ndarray],
    subjects: pd.DataFrame,
    nodes: pd.DataFrame,
    *,
    kind: str = "correlation",
    fisher_z: bool = False,
    meta: dict[str, Any] | None = None,
    sources: Sequence[str] | None = None,
    overwrite: bool = False,
) -> FCDataset:
    """Write a dataset from precomputed connectivity matrices.

    Parameters
    ----------
    out : str or Path
        Dataset directory to write.
    matrices : sequence of ndarray (n_nodes, n_nodes)
        One symmetric matrix per sample.
    subjects, nodes : DataFrame
        As for :func:`build_from_signals`.
    kind : str
        What the matrices hold (declared by the user).
    fisher_z : bool
        Fisher z-transform them (correlation kinds only).
    meta : dict, optional
        Extra metadata.
    sources : sequence of str, optional
        Files, for messages.
    overwrite : bool
        Replace an existing dataset.

    Returns
    -------
    FCDataset
    """
    kind = normalize_kind(kind)
    check_matrices(matrices, subjects, sources)
    fc = np.stack([np.asarray(m, dtype=np.float64) for m in matrices])
    if fisher_z:
        if kind not in CORRELATION_KINDS:
            raise ParameterError(
                f"Fisher z applies to correlation kinds only, not {kind!r}; drop --fisher-z"
            )
        if np.abs(fc).max() > 1 + 1e-6:
            raise InputFileError(
                "matrices hold values beyond [-1, 1], so they are not correlations (already "
                "z-transformed?); drop --fisher-z",
                sources[0] if sources else None,
            )
        fc = np.asarray(fisher_transform(fc))
    full_meta = {"modality": "fmri", **(meta or {}), "kind": kind, "fisher_z": bool(fisher_z),
                 "shrinkage": None, "window": None, "precomputed": True}
    return write_dataset(out, fc=fc, subjects=subjects, nodes=nodes, meta=full_meta,
                         overwrite=overwrite)

