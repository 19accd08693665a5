"""Fused CPU kernels for the phase measures that need the cross-spectrum at every sample.

PLI, wPLI and multitaper PLV take a non-linear function of ``S_xy(t)`` before averaging over
time, so they cannot be written as one matrix product. With numba installed (the ``fast``
extra) these loops run compiled and in parallel over (epoch, frequency, channel pair), reading
each pair's coefficients once from planar (real, imaginary) copies; without it
:mod:`neurocl.connectivity.spectral` falls back to batched torch products, with the same
results.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np

#: whether numba is installed (it is imported, and the kernel compiled, on first use)
HAVE_NUMBA = importlib.util.find_spec("numba") is not None

#: kernel codes
PLI, WPLI, PLV = 0, 1, 2


@functools.lru_cache(maxsize=1)
def _kernel():  # noqa: ANN202
    import numba

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath={"reassoc", "contract"})
    def _pair_kernel(a, b, kind):  # pragma: no cover - compiled
        # a, b: real and imaginary parts (E, F, C, K, T), C-contiguous, float32 or float64;
        # kind: PLI, WPLI or PLV. Returns out0, out1: (E, F, C, C) float64, filled for x < y.
        # Im S_xy(t) = sum_k b_x a_y - a_x b_y and Re S_xy(t) = sum_k a_x a_y + b_x b_y are
        # formed per sample in the working precision (three tapers unrolled: one fused pass)
        # and summed over time in float64.
        n_e, n_f, n_c, n_k, n_t = a.shape
        out0 = np.zeros((n_e, n_f, n_c, n_c))
        out1 = np.zeros((n_e, n_f, n_c, n_c))
        for job in numba.prange(n_e * n_f * n_c):
            e = job // (n_f * n_c)
            f = (job // n_c) % n_f
            x = job % n_c
            im_s = np.empty(n_t, dtype=a.dtype)
            re_s = np.empty(n_t, dtype=a.dtype)
            for y in range(x + 1, n_c):
                if n_k == 3:
                    ax0, ax1, ax2 = a[e, f, x, 0], a[e, f, x, 1], a[e, f, x, 2]
                    bx0, bx1, bx2 = b[e, f, x, 0], b[e, f, x, 1], b[e, f, x, 2]
                    ay0, ay1, ay2 = a[e, f, y, 0], a[e, f, y, 1], a[e, f, y, 2]
                    by0, by1, by2 = b[e, f, y, 0], b[e, f, y, 1], b[e, f, y, 2]
                    for t in range(n_t):
                        im_s[t] = (bx0[t] * ay0[t] - ax0[t] * by0[t] + bx1[t] * ay1[t]
                                   - ax1[t] * by1[t] + bx2[t] * ay2[t] - ax2[t] * by2[t])
                    if kind == 2:
                        for t in range(n_t):
                            re_s[t] = (ax0[t] * ay0[t] + bx0[t] * by0[t] + ax1[t] * ay1[t]
                                       + bx1[t] * by1[t] + ax2[t] * ay2[t] + bx2[t] * by2[t])
                else:
                    im_s[:] = 0.0
                    re_s[:] = 0.0
                    for k in range(n_k):
                        ax, bx = a[e, f, x, k], b[e, f, x, k]
                        ay, by = a[e, f, y, k], b[e, f, y, k]
                        for t in range(n_t):
                            im_s[t] += bx[t] * ay[t] - ax[t] * by[t]
                        if kind == 2:
                            for t in range(n_t):
                                re_s[t] += ax[t] * ay[t] + bx[t] * by[t]
                a0 = 0.0
                a1 = 0.0
                if kind == 0:
                    for t in range(n_t):
                        a0 += np.sign(np.float64(im_s[t]))
                elif kind == 1:
                    for t in range(n_t):
                        v = np.float64(im_s[t])
                        a0 += v
                        a1 += abs(v)
                else:
                    for t in range(n_t):
                        r = np.float64(re_s[t])
                        i = np.float64(im_s[t])
                        inv = 1.0 / np.sqrt(r * r + i * i)
                        a0 += r * inv
                        a1 += i * inv
                out0[e, f, x, y] = a0
                out1[e, f, x, y] = a1
        return out0, out1

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath={"reassoc", "contract"})
    def _aec_orth_kernel(z, env):  # pragma: no cover - compiled
        # z: (E, C, T) complex analytic signals, env = |z|; returns corr (E, C, C) where
        # corr[i, j] = pearson(|Im(z_i conj(z_j) / |z_j|)|, |z_j|) (Hipp et al. 2012)
        n_e, n_c, n_t = z.shape
        out = np.zeros((n_e, n_c, n_c))
        for job in numba.prange(n_e * n_c):
            e = job // n_c
            i = job % n_c
            orth = np.empty(n_t)
            for j in range(n_c):
                if j == i:
                    continue
                mean = 0.0
                for t in range(n_t):
                    v = abs(z[e, i, t].imag * z[e, j, t].real
                            - z[e, i, t].real * z[e, j, t].imag) / env[e, j, t]
                    orth[t] = v
                    mean += v
                mean /= n_t
                env_mean = 0.0
                for t in range(n_t):
                    env_mean += env[e, j, t]
                env_mean /= n_t
                num = 0.0
                ss_o = 0.0
                ss_e = 0.0
                for t in range(n_t):
                    a = orth[t] - mean
                    b = env[e, j, t] - env_mean
                    num += a * b
                    ss_o += a * a
                    ss_e += b * b
                den = (np.sqrt(ss_o) if ss_o > 0 else 1.0) * (np.sqrt(ss_e) if ss_e > 0 else 1.0)
                out[e, i, j] = num / den
        return out

    return _pair_kernel, _aec_orth_kernel


def pair_sums(z: np.ndarray, kind: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum over time a function of the cross-spectrum, for each pair (compiled).

    Parameters
    ----------
    z : ndarray of complex, shape (n_epochs, n_freqs, n_channels, n_tapers, n_times)
        The weighted coefficients (so that
        ``S_xy(t) = sum_k X_k(t) conj(Y_k(t))``).
    kind : int
        ``PLI``: (sum sign Im S, 0); ``WPLI``: (sum Im S, sum |Im S|);
        ``PLV``: (sum Re S/|S|, sum Im S/|S|).

    Returns
    -------
    tuple of two ndarrays of shape (n_epochs, n_freqs, n_channels, n_channels)
        float64, filled above the diagonal (``x < y``), zero elsewhere.
    """
    return _kernel()[0](np.ascontiguousarray(z.real), np.ascontiguousarray(z.imag), int(kind))


def aec_orth(z: np.ndarray) -> np.ndarray:
    """Pairwise-orthogonalised envelope correlation before symmetrisation (compiled).

    Parameters
    ----------
    z : ndarray of complex, shape (n_epochs, n_channels, n_times)
        Analytic signals.

    Returns
    -------
    ndarray of shape (n_epochs, n_channels, n_channels)
        ``out[e, i, j]``: Pearson correlation of signal i orthogonalised to j with the
        envelope of j; zero diagonal.
    """
    z = np.ascontiguousarray(z, dtype=np.complex128)
    return _kernel()[1](z, np.abs(z))
