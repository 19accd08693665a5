"""Dynamic functional connectivity by sliding windows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from neurocl._core.errors import ParameterError
from neurocl.connectivity._linalg import per_core_map
from neurocl.connectivity.static import ConnectivityEstimator

#: bytes of window FC computed together per core: small enough for the temporaries to stay
#: in cache (about 64 windows at 116 nodes; 1024 windows was 2x slower)
_CHUNK_BYTES = 8e6


def n_windows(n_times: int, length: int, stride: int) -> int:
    """Count the full windows of ``length`` frames, every ``stride`` frames, in ``n_times``.

    Examples
    --------
    >>> n_windows(168, 30, 5)
    28
    """
    if length < 2:
        raise ParameterError(f"window length must be >= 2 frames; got {length}")
    if stride < 1:
        raise ParameterError(f"stride must be >= 1 frame; got {stride}")
    if n_times < length:
        return 0
    return (n_times - length) // stride + 1


def sliding_windows(x: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Return the windows of signals as a view.

    Parameters
    ----------
    x : ndarray of shape (n_times, n_nodes)
    length, stride : int
        Window length and step, in frames.

    Returns
    -------
    ndarray of shape (n_windows, length, n_nodes)
    """
    w = n_windows(x.shape[0], length, stride)
    view = np.lib.stride_tricks.sliding_window_view(x, length, axis=0)  # (T-L+1, N, L)
    return view[: (w - 1) * stride + 1 : stride].transpose(0, 2, 1)


def dynamic_connectivity(
    signals: np.ndarray | Sequence[np.ndarray],
    length: int,
    stride: int,
    kind: str = "correlation",
    *,
    shrinkage: str | None = None,
    fisher_z: bool = False,
    device: str = "cpu",
    estimator: ConnectivityEstimator | None = None,
) -> np.ndarray:
    """Sliding-window FC of every sample.

    Every sample must give the same number of windows (equal lengths), so the result is a
    dense array. Kind tangent uses one reference: the geometric mean of all windows of all
    samples.

    Parameters
    ----------
    signals : ndarray (n_samples, n_times, n_nodes) or list of (n_times, n_nodes)
    length, stride : int
        Window length and step, in frames.
    kind, shrinkage, fisher_z, device
        As for :func:`neurocl.connectivity.connectivity`.
    estimator : ConnectivityEstimator, optional
        A configured estimator to use instead of building one.

    Returns
    -------
    ndarray of shape (n_samples, n_windows, n_nodes, n_nodes), float64

    Raises
    ------
    ParameterError
        When a sample is shorter than one window, or samples give different window counts.
    """
    lengths = [int(np.shape(s)[0]) for s in signals]
    counts = {n_windows(t, length, stride) for t in lengths}
    if min(lengths) < length:
        worst = int(np.argmin(lengths))
        raise ParameterError(
            f"sample {worst} has {lengths[worst]} time points, fewer than the window of "
            f"{length}; use a shorter --window or drop that sample"
        )
    if len(counts) != 1:
        raise ParameterError(
            f"samples give different numbers of windows ({sorted(counts)}); dynamic FC needs "
            "runs of equal length: trim them to the same length first"
        )
    n_win = counts.pop()
    n_samples, n_nodes = len(lengths), int(np.shape(signals[0])[-1])
    est = estimator or ConnectivityEstimator(
        kind, shrinkage=shrinkage, fisher_z=fisher_z, device=device
    )
    kind_name, _ = est.check_input(length, n_nodes)
    # samples per chunk so that a chunk's window FC takes about _CHUNK_BYTES
    per_chunk = max(1, int(_CHUNK_BYTES // (8 * n_win * n_nodes * n_nodes)))
    out = np.empty((n_samples, n_win, n_nodes, n_nodes), dtype=np.float64)
    # on the CPU _windowed runs one chunk per core with one thread each; elsewhere, as set
    _windowed(signals, out, est, kind_name, length, stride, n_win, per_chunk)
    if kind_name == "tangent":  # one reference over every window of every sample
        flat = out.reshape(-1, n_nodes, n_nodes)
        est.fit_covariances(flat)
        for start in range(0, len(flat), est.chunk_size):
            flat[start : start + est.chunk_size] = est.transform_covariances(
                flat[start : start + est.chunk_size])
    return out


def _windowed(signals: np.ndarray | Sequence[np.ndarray], out: np.ndarray,
              est: ConnectivityEstimator, kind_name: str, length: int, stride: int, n_win: int,
              per_chunk: int) -> None:
    """Fill ``out`` (samples, windows, nodes, nodes) with each window's FC (or covariance)."""
    n_samples = out.shape[0]
    starts = range(0, n_samples, per_chunk)
    if torch.device(est.device).type == "cpu":  # one chunk per core, torch on one thread
        per_core_map(lambda part: _windowed_chunks(signals, out, est, kind_name, length, stride,
                                                   n_win, per_chunk, part), starts)
    else:
        _windowed_chunks(signals, out, est, kind_name, length, stride, n_win, per_chunk, starts)


def _windowed_chunks(signals: np.ndarray | Sequence[np.ndarray], out: np.ndarray,
                     est: ConnectivityEstimator, kind_name: str, length: int, stride: int,
                     n_win: int, per_chunk: int, starts: Sequence[int]) -> None:
    n_samples, n_nodes = out.shape[0], out.shape[-1]
    for start in starts:
        stop = min(start + per_chunk, n_samples)
        x = torch.as_tensor(np.stack([np.asarray(signals[i]) for i in range(start, stop)]),
                            dtype=torch.float64, device=est.device)
        # (B, T, N) -> (B, W, N, L) -> (B * W, L, N), a view until reshape copies it
        windows = x.unfold(1, length, stride)[:, :n_win].transpose(-1, -2)
        windows = windows.reshape(-1, length, n_nodes)
        if kind_name == "tangent":
            fc = est._batch_covariance(windows)
        else:
            fc = est._batch_fc(None, windows)
        out[start:stop] = fc.reshape(stop - start, n_win, n_nodes, n_nodes).cpu().numpy()
