"""EEG connectivity per epoch and frequency band, batched over epochs and channel pairs.

Phase and coherence measures (``coh``, ``imcoh``, ``plv``, ``pli``, ``wpli``) follow the
definitions of mne-connectivity's ``spectral_connectivity_time``: each epoch gets its own
matrix, computed over the time samples of that epoch from a time-frequency decomposition,
then averaged over the frequencies of each band. With ``S_xy(t) = sum_k a_k X_k(t) Y_k(t)*``
the cross-spectrum of channels x and y at one frequency (``k`` runs over tapers, ``a_k`` are
the taper weights; one "taper" of weight 1 for Morlet wavelets) and ``E[.]`` the mean over the
epoch's time samples:

=========  ====================================================
``coh``    ``|E[S_xy]| / sqrt(E[S_xx] E[S_yy])``
``imcoh``  ``Im(E[S_xy]) / sqrt(E[S_xx] E[S_yy])`` (signed: ``fc[j, i] = -fc[i, j]``)
``plv``    ``|E[S_xy / |S_xy|]|``
``pli``    ``|E[sign(Im S_xy)]|``
``wpli``   ``|E[Im S_xy]| / E[|Im S_xy|]``
=========  ====================================================

The time-frequency decomposition is

* ``"multitaper"``: complex exponentials under DPSS tapers, ``n_cycles / f`` seconds long,
  time-bandwidth product ``mt_bandwidth`` (``floor(mt_bandwidth - 1)`` tapers, weighted by the
  square root of their concentration ratios), zero mean; or
* ``"wavelet"``: Morlet wavelets with a Gaussian of standard deviation
  ``n_cycles / (2 pi f)`` seconds, cut at 5 standard deviations on each side.

Both are MNE's conventions (``tfr_array_multitaper`` / ``tfr_array_morlet``), convolved in
"same" mode over the whole epoch. By default the number of cycles scales with frequency,
``n_cycles = max(f / 2, 3)``: a 0.5-s window from 6 Hz up, and at least 3 cycles below (1.5 s
at 2 Hz), so a 4-s epoch holds the lowest delta wavelet. Frequencies are taken every
``freq_step`` Hz from each band's lower to its upper edge (both included, so adjacent bands
share their edge frequency, as mne-connectivity's ``fmin``/``fmax`` do).

Amplitude measures use band-pass filtered signals instead (MNE's zero-phase FIR filter per
band) and their analytic signal (Hilbert transform): ``aec`` is the Pearson correlation of
the amplitude envelopes, ``aec-orth`` the pairwise-orthogonalised envelope correlation of
Hipp et al. (2012) as mne-connectivity's ``envelope_correlation`` computes it (absolute value,
averaged over both orthogonalisation directions), and ``corr`` the Pearson correlation of the
band-passed signals.

Every matrix has a zero diagonal (self-connectivity is not computed). Computation runs in
torch, in float32 by default; float64 gives the reference values to rounding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neurocl._core.errors import ParameterError
from neurocl._core.progress import ProgressCallback, no_progress
from neurocl._core.registry import Registry, normalize_name
from neurocl.connectivity import _spectral_kernels as _kernels
from neurocl.connectivity.static import gram as _gram

#: Default frequency bands in Hz (delta starts at 2 Hz so that a 4-s epoch holds its cycles).
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (2.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}

#: Spectral modes of the phase/coherence methods (aliases: ``morlet``, ``cwt_morlet``).
SPECTRAL_MODES = ("multitaper", "wavelet")

SPECTRAL_METHODS: Registry[str] = Registry("EEG connectivity method")
SPECTRAL_METHODS.register("coh", "coherence")("spectral")
SPECTRAL_METHODS.register("imcoh", "imaginary-coherence", "icoh")("spectral")
SPECTRAL_METHODS.register("plv", "phase-locking-value")("spectral")
SPECTRAL_METHODS.register("pli", "phase-lag-index")("spectral")
SPECTRAL_METHODS.register("wpli", "weighted-phase-lag-index")("spectral")
SPECTRAL_METHODS.register("aec", "envelope-correlation")("envelope")
SPECTRAL_METHODS.register("aec-orth", "orthogonalized-aec", "orthogonalised-aec",
                          "aec-orthogonalized", "aec-orthogonalised")("envelope")
SPECTRAL_METHODS.register("corr", "correlation", "pearson")("envelope")

#: Methods that are antisymmetric (``fc[j, i] = -fc[i, j]``); all others are symmetric.
ANTISYMMETRIC_METHODS = ("imcoh",)


@dataclass(frozen=True)
class Band:
    """A named frequency band, edges in Hz (both included)."""

    name: str
    fmin: float
    fmax: float

    def as_text(self) -> str:
        """``"alpha=8-13"``."""
        return f"{self.name}={self.fmin:g}-{self.fmax:g}"


def normalize_method(method: str) -> str:
    """Return the canonical method name (``"wPLI"`` -> ``"wpli"``), or raise listing them."""
    return SPECTRAL_METHODS.resolve(method)


def method_family(method: str) -> str:
    """``"spectral"`` (phase/coherence, from a time-frequency decomposition) or ``"envelope"``."""
    return SPECTRAL_METHODS.get(method)


def normalize_mode(mode: str | None, method: str) -> str:
    """Return the spectral estimator used by ``method``: multitaper, wavelet or hilbert.

    ``None`` means ``"multitaper"`` for the phase/coherence methods and ``"hilbert"`` for the
    amplitude methods, which only support band-pass filtering + Hilbert transform.
    """
    family = method_family(method)
    key = None if mode is None else normalize_name(mode).replace("-", "")
    if key in ("morlet", "cwtmorlet", "wavelets"):
        key = "wavelet"
    if family == "envelope":
        if key not in (None, "hilbert"):
            raise ParameterError(
                f"mode {mode!r} does not apply to method {method!r}: aec, aec-orth and corr "
                "use band-pass filtering and the Hilbert transform; drop --mode"
            )
        return "hilbert"
    if key is None:
        return "multitaper"
    if key not in SPECTRAL_MODES:
        raise ParameterError(
            f"mode must be one of {', '.join(SPECTRAL_MODES)} for method {method!r}; "
            f"got {mode!r}"
        )
    return key


_RANGE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*[-:]\s*([0-9]*\.?[0-9]+)\s*(hz)?\s*$", re.I)


def parse_bands(
    spec: str | Sequence[str] | Mapping[str, Sequence[float]] | Sequence[Band] | None = None,
) -> list[Band]:
    """Parse a band specification.

    Parameters
    ----------
    spec : str, sequence or mapping, optional
        ``None`` for the default bands (delta, theta, alpha, beta, gamma); a comma-separated
        string of default band names and custom ranges (``"alpha,beta,mu=8-12"``, or an
        unnamed ``"8-12"``, named ``"8-12Hz"``); a sequence of such items; or a mapping of
        names to ``(fmin, fmax)``.

    Returns
    -------
    list of Band
        In the order given.

    Raises
    ------
    ParameterError
        For an unknown band name, a malformed range, ``fmin >= fmax`` or a repeated name.
    """
    if spec is None:
        return [Band(k, *v) for k, v in DEFAULT_BANDS.items()]
    items: list[Any]
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    elif isinstance(spec, str):
        items = [s for s in (p.strip() for p in spec.split(",")) if s]
    else:
        items = list(spec)
    if not items:
        raise ParameterError("bands is empty; give band names such as alpha,beta or mu=8-12")
    bands: list[Band] = []
    for item in items:
        bands.append(_parse_band(item))
    names = [b.name for b in bands]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParameterError(f"band {dup[0]!r} is given twice in bands; name each band once")
    return bands


def _parse_band(item: Any) -> Band:
    valid = ", ".join(f"{k} ({lo:g}-{hi:g} Hz)" for k, (lo, hi) in DEFAULT_BANDS.items())
    if isinstance(item, Band):
        band = item
    elif isinstance(item, tuple) and len(item) == 2 and not isinstance(item[1], (int, float)):
        name, (lo, hi) = item
        band = Band(str(name), float(lo), float(hi))
    elif isinstance(item, str):
        text = item.strip()
        name, _, rng = text.partition("=")
        if not rng:
            m = _RANGE.match(text)
            if m:
                lo, hi = float(m.group(1)), float(m.group(2))
                band = Band(f"{lo:g}-{hi:g}Hz", lo, hi)
            else:
                key = text.lower()
                if key not in DEFAULT_BANDS:
                    raise ParameterError(
                        f"unknown band {text!r}; use one of {valid}, or a range like mu=8-12"
                    )
                band = Band(key, *DEFAULT_BANDS[key])
        else:
            m = _RANGE.match(rng)
            if not m or not name.strip():
                raise ParameterError(
                    f"band {text!r} is not of the form NAME=LOW-HIGH (e.g. mu=8-12)"
                )
            band = Band(name.strip(), float(m.group(1)), float(m.group(2)))
    else:
        raise ParameterError(f"band {item!r} is neither a band name nor NAME=LOW-HIGH")
    if not 0 < band.fmin < band.fmax:
        raise ParameterError(
            f"band {band.name!r} must satisfy 0 < low < high; got {band.fmin:g}-{band.fmax:g} Hz"
        )
    return band


def default_n_cycles(freqs: np.ndarray) -> np.ndarray:
    """Cycles per frequency: ``max(f / 2, 3)`` (0.5-s windows from 6 Hz, >= 3 cycles below)."""
    return np.maximum(np.asarray(freqs, dtype=float) / 2.0, 3.0)


def band_frequencies(
    bands: Sequence[Band], freq_step: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies of the decomposition and which of them each band averages.

    Parameters
    ----------
    bands : sequence of Band
    freq_step : float
        Spacing in Hz of the frequencies within each band, from its lower edge.

    Returns
    -------
    freqs : ndarray of shape (n_freqs,)
        Sorted union of the frequencies of every band.
    masks : ndarray of bool, shape (n_bands, n_freqs)
        ``masks[b, i]`` when ``fmin_b <= freqs[i] <= fmax_b``.
    """
    if not freq_step > 0:
        raise ParameterError(f"freq_step must be > 0; got {freq_step!r}")
    per_band = [
        np.round(np.arange(b.fmin, b.fmax + freq_step * 1e-6, freq_step), 9) for b in bands
    ]
    freqs = np.unique(np.concatenate(per_band))
    tol = 1e-9 * max(1.0, float(freqs.max()))
    masks = np.stack(
        [(freqs >= b.fmin - tol) & (freqs <= b.fmax + tol) for b in bands]
    )
    return freqs, masks


def check_bands(
    bands: Sequence[Band],
    sfreq: float,
    n_times: int,
    *,
    method: str = "wpli",
    mode: str | None = None,
    n_cycles: float | Sequence[float] | None = None,
    freq_step: float = 1.0,
    l_freq: float | None = None,
    h_freq: float | None = None,
) -> None:
    """Raise :class:`ParameterError` when a band cannot be estimated from these epochs.

    A band must lie below Nyquist (``sfreq / 2``), inside the band-pass ``[l_freq, h_freq]``
    when one was applied, and its lowest frequency's wavelet must fit in the epoch.
    """
    nyquist = sfreq / 2.0
    for b in bands:
        if b.fmax > nyquist:
            raise ParameterError(
                f"band {b.name} ({b.fmin:g}-{b.fmax:g} Hz) lies above Nyquist ({nyquist:g} Hz at "
                f"{sfreq:g} Hz sampling); lower its upper edge or drop it"
            )
        if h_freq is not None and b.fmax > h_freq:
            raise ParameterError(
                f"band {b.name} ({b.fmin:g}-{b.fmax:g} Hz) reaches above the low-pass --h-freq "
                f"{h_freq:g} Hz; raise --h-freq or drop the band"
            )
        if l_freq is not None and b.fmin < l_freq:
            raise ParameterError(
                f"band {b.name} ({b.fmin:g}-{b.fmax:g} Hz) starts below the high-pass --l-freq "
                f"{l_freq:g} Hz; lower --l-freq or drop the band"
            )
    method = normalize_method(method)
    mode = normalize_mode(mode, method)
    if mode == "hilbert":
        return
    freqs, _ = band_frequencies(bands, freq_step)
    cycles = _cycles(freqs, n_cycles)
    lengths = np.array(
        [_wavelet_length(sfreq, f, c, mode) for f, c in zip(freqs, cycles, strict=True)]
    )
    if (lengths > n_times).any():
        i = int(np.argmax(lengths > n_times))
        band = next(b for b in bands if b.fmin - 1e-9 <= freqs[i] <= b.fmax + 1e-9)
        raise ParameterError(
            f"band {band.name} needs epochs of at least {lengths[i] / sfreq:.2f} s ({cycles[i]:g} "
            f"cycles at {freqs[i]:g} Hz, {mode}) but epochs last {n_times / sfreq:.2f} s; "
            "lengthen the epochs, drop the band or use fewer cycles"
        )


# --------------------------------------------------------------------------------------------
# time-frequency decomposition
# --------------------------------------------------------------------------------------------


def _cycles(freqs: np.ndarray, n_cycles: float | Sequence[float] | None) -> np.ndarray:
    if n_cycles is None:
        return default_n_cycles(freqs)
    cycles = np.broadcast_to(np.asarray(n_cycles, dtype=float), freqs.shape).copy()
    if (cycles <= 0).any():
        raise ParameterError(f"n_cycles must be > 0; got {n_cycles!r}")
    return cycles


def _wavelet_length(sfreq: float, freq: float, cycles: float, mode: str) -> int:
    if mode == "multitaper":
        return int(np.arange(0.0, cycles / freq, 1.0 / sfreq).shape[0])
    sigma_t = cycles / (2.0 * np.pi * freq)
    return 2 * int(np.arange(0.0, 5.0 * sigma_t, 1.0 / sfreq).shape[0]) - 1


def tfr_wavelets(
    sfreq: float,
    freqs: np.ndarray,
    n_cycles: float | Sequence[float] | None = None,
    mode: str = "multitaper",
    mt_bandwidth: float = 4.0,
) -> tuple[list[list[np.ndarray]], np.ndarray]:
    """Build the complex wavelets of the time-frequency decomposition.

    Parameters
    ----------
    sfreq : float
        Sampling frequency in Hz.
    freqs : ndarray of shape (n_freqs,)
        Frequencies in Hz.
    n_cycles : float or sequence of float, optional
        Cycles per wavelet (one value, or one per frequency); default
        :func:`default_n_cycles`.
    mode : {"multitaper", "wavelet"}
    mt_bandwidth : float
        Multitaper time-bandwidth product (>= 2).

    Returns
    -------
    wavelets : list (n_tapers) of list (n_freqs) of ndarray
        Complex wavelets, each normalised as MNE does (norm of the real part 1).
    weights : ndarray of shape (n_tapers, n_freqs)
        Taper weights (square roots of the DPSS concentration ratios; 1 for Morlet).
    """
    freqs = np.asarray(freqs, dtype=float)
    cycles = _cycles(freqs, n_cycles)
    if mode == "wavelet":
        row = []
        for f, c in zip(freqs, cycles, strict=True):
            sigma_t = c / (2.0 * np.pi * f)
            half = np.arange(0.0, 5.0 * sigma_t, 1.0 / sfreq)
            t = np.concatenate([-half[::-1], half[1:]])
            w = np.exp(2j * np.pi * f * t) * np.exp(-(t**2) / (2.0 * sigma_t**2))
            row.append(w / (np.sqrt(0.5) * np.linalg.norm(w)))
        return [row], np.ones((1, len(freqs)))
    if mode != "multitaper":
        raise ParameterError(f"mode must be one of {', '.join(SPECTRAL_MODES)}; got {mode!r}")
    if mt_bandwidth < 2.0:
        raise ParameterError(f"mt_bandwidth must be >= 2 (one good taper); got {mt_bandwidth!r}")
    from mne.time_frequency import dpss_windows

    n_tapers = int(np.floor(mt_bandwidth - 1))
    wavelets: list[list[np.ndarray]] = [[] for _ in range(n_tapers)]
    weights = np.zeros((n_tapers, len(freqs)))
    for i, (f, c) in enumerate(zip(freqs, cycles, strict=True)):
        t_win = c / f
        t = np.arange(0.0, t_win, 1.0 / sfreq)
        carrier = np.exp(2j * np.pi * f * (t - t_win / 2.0))
        tapers, ratios = dpss_windows(len(t), mt_bandwidth / 2.0, n_tapers, sym=False)
        for k in range(n_tapers):
            w = carrier * tapers[k]
            w = w - w.mean()
            wavelets[k].append(w / (np.sqrt(0.5) * np.linalg.norm(w)))
        weights[:, i] = np.sqrt(ratios)
    return wavelets, weights


class _TFR:
    """FFT-domain wavelet bank; ``__call__`` turns epochs into scaled complex coefficients."""

    def __init__(self, sfreq: float, freqs: np.ndarray, n_times: int, *, mode: str,
                 n_cycles: Any, mt_bandwidth: float, dtype: torch.dtype,
                 device: torch.device) -> None:
        from scipy.fft import next_fast_len

        wavelets, weights = tfr_wavelets(sfreq, freqs, n_cycles, mode, mt_bandwidth)
        longest = max(len(w) for row in wavelets for w in row)
        if longest > n_times:
            raise ParameterError(
                f"a wavelet ({longest} samples) is longer than the epochs ({n_times} samples); "
                "lengthen the epochs, raise the lowest frequency or use fewer cycles"
            )
        self.n_times = n_times
        self.nfft = next_fast_len(n_times + longest - 1)
        # cross-spectra are sum_k w_k^2 X_k Y_k^* * 2 / sum_k w_k^2 (multitaper), X Y^* (Morlet):
        # fold sqrt of that factor into the wavelets
        scale = weights * np.sqrt(2.0 / (weights**2).sum(axis=0)) if mode == "multitaper" \
            else weights
        bank = np.zeros((len(wavelets), len(freqs), self.nfft), dtype=np.complex128)
        for k, row in enumerate(wavelets):
            for i, w in enumerate(row):
                # circular shift so that the "same"-mode (centred) output starts at index 0
                centre = (len(w) - 1) // 2
                bank[k, i, : len(w) - centre] = w[centre:] * scale[k, i]
                if centre:
                    bank[k, i, -centre:] = w[:centre] * scale[k, i]
        cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        self.bank = torch.fft.fft(torch.as_tensor(bank, device=device)).to(cdtype)
        self.n_tapers, self.n_freqs = len(wavelets), len(freqs)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Coefficients of ``x`` (epochs, channels, times) -> (epochs, freqs, ch, tapers, times).

        The result is a view (its last axis is cut from the FFT length to ``n_times``).
        """
        spec = torch.fft.fft(x.to(self.bank.dtype), n=self.nfft, dim=-1)
        bank = self.bank.transpose(0, 1)  # (F, K, nfft)
        prod = spec[:, None, :, None, :] * bank[None, :, None, :, :]  # (e, F, C, K, nfft)
        return torch.fft.ifft(prod, dim=-1, out=prod)[..., : self.n_times]


# --------------------------------------------------------------------------------------------
# connectivity
# --------------------------------------------------------------------------------------------


def _resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def spectral_connectivity(
    data: np.ndarray,
    sfreq: float,
    *,
    method: str = "wpli",
    bands: Any = None,
    mode: str | None = None,
    n_cycles: float | Sequence[float] | None = None,
    mt_bandwidth: float = 4.0,
    freq_step: float = 1.0,
    dtype: str = "float32",
    device: str | torch.device = "cpu",
    batch_size: int | None = None,
    progress: ProgressCallback = no_progress,
) -> np.ndarray:
    """Compute the connectivity of every epoch in every band.

    Parameters
    ----------
    data : ndarray of shape (n_epochs, n_channels, n_times)
        Epochs in MNE's order (channels x time).
    sfreq : float
        Sampling frequency in Hz.
    method : str
        ``coh``, ``imcoh``, ``plv``, ``pli``, ``wpli``, ``aec``, ``aec-orth`` or ``corr``
        (see the module docstring for the definitions).
    bands : str, sequence or mapping, optional
        See :func:`parse_bands`; default delta, theta, alpha, beta, gamma.
    mode : {"multitaper", "wavelet"}, optional
        Spectral estimator of the phase/coherence methods (default multitaper); the
        amplitude methods use band-pass + Hilbert and accept only None or ``"hilbert"``.
    n_cycles : float or sequence of float, optional
        Cycles per frequency; default ``max(f / 2, 3)``.
    mt_bandwidth : float
        Multitaper time-bandwidth product (default 4: three tapers).
    freq_step : float
        Spacing of the frequencies averaged within each band (Hz).
    dtype : {"float32", "float64"}
        Working precision.
    device : str or torch.device
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    batch_size : int, optional
        Epochs processed at once (default: sized to about 256 MB of coefficients).
    progress : callable, optional
        Called as ``progress("connectivity", done, n_epochs)``.

    Returns
    -------
    ndarray of shape (n_epochs, n_bands, n_channels, n_channels)
        float32 (float64 when ``dtype="float64"``), zero diagonal; symmetric except for
        ``imcoh``, which is antisymmetric.

    Raises
    ------
    ParameterError
        For an unknown method/mode/band, a band above Nyquist or a wavelet longer than the
        epochs.
    """
    data = np.asarray(data)
    if data.ndim != 3:
        raise ParameterError(
            f"data must have shape (n_epochs, n_channels, n_times); got shape {data.shape}"
        )
    method = normalize_method(method)
    mode = normalize_mode(mode, method)
    band_list = parse_bands(bands)
    n_epochs, n_channels, n_times = data.shape
    check_bands(band_list, sfreq, n_times, method=method, mode=mode, n_cycles=n_cycles,
                freq_step=freq_step)
    if dtype not in ("float32", "float64"):
        raise ParameterError(f"dtype must be float32 or float64; got {dtype!r}")
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    dev = _resolve_device(device)
    out = np.zeros((n_epochs, len(band_list), n_channels, n_channels), dtype=dtype)
    if mode == "hilbert":
        _envelope_connectivity(data, sfreq, method, band_list, out, tdtype, dev, progress)
        return out
    freqs, masks = band_frequencies(band_list, freq_step)
    tfr = _TFR(sfreq, freqs, n_times, mode=mode, n_cycles=n_cycles, mt_bandwidth=mt_bandwidth,
               dtype=tdtype, device=dev)
    weights = torch.as_tensor(masks / masks.sum(axis=1, keepdims=True), dtype=tdtype, device=dev)
    per_epoch = n_channels * tfr.n_tapers * tfr.n_freqs * tfr.nfft * 16
    step = batch_size or max(1, int(256e6 // per_epoch))
    for start in range(0, n_epochs, step):
        x = torch.as_tensor(data[start : start + step], dtype=tdtype, device=dev)
        coefs = tfr(x)  # (e, F, C, K, T)
        con = _phase_connectivity(coefs, method)  # (e, F, C, C)
        banded = torch.einsum("efij,bf->ebij", con, weights)
        # the upper triangle (x < y, mne-connectivity's seed/target order) defines the matrix
        upper = torch.triu(banded, diagonal=1)
        lower = upper.transpose(-1, -2)
        banded = upper - lower if method in ANTISYMMETRIC_METHODS else upper + lower
        out[start : start + len(x)] = banded.cpu().numpy()
        progress("connectivity", min(start + step, n_epochs), n_epochs)
    return out


def _phase_connectivity(coefs: torch.Tensor, method: str) -> torch.Tensor:
    """Per-frequency connectivity (e, F, C, C) from coefficients (e, F, C, K, T)."""
    e, f, c, k, t = coefs.shape
    if method in ("coh", "imcoh") or (method == "plv" and k == 1):
        z = coefs
        if method == "plv":
            z = coefs / coefs.abs()
        # E[S_xy] for every pair, in real arithmetic over tapers x time: with z = a + ib,
        # Re S = a a^T + b b^T (one Gram matrix of [a, b]) and Im S = M - M^T with M = b a^T,
        # half the flops of the complex product z z^H
        ri = torch.view_as_real(z.reshape(e, f, c, k * t)).transpose(-1, -2)
        ri = ri.reshape(e, f, c, 2 * k * t)  # [a, b] along the last axis (a copy)
        a, b = ri[..., : k * t], ri[..., k * t :]
        m = b @ a.transpose(-1, -2)
        imag = (m - m.transpose(-1, -2)) / t
        if method == "imcoh":
            power = ri.square().sum(dim=-1) / t
        else:
            real = _gram(ri.reshape(e * f, c, 2 * k * t), rows=True).reshape(e, f, c, c) / t
            if method == "plv":
                return torch.hypot(real, imag)
            power = real.diagonal(dim1=-2, dim2=-1)
        norm = torch.sqrt(power[..., :, None] * power[..., None, :])
        return (torch.hypot(real, imag) if method == "coh" else imag) / norm
    # methods that need the cross-spectrum at each time sample
    if coefs.device.type == "cpu" and _kernels.HAVE_NUMBA:
        return _phase_connectivity_compiled(coefs, method)
    out = torch.empty((e, f, c, c), dtype=coefs.real.dtype, device=coefs.device)
    if method == "wpli":
        zz = coefs.reshape(e, f, c, k * t)
        numerator = (zz @ zz.conj().transpose(-1, -2)).imag.abs()
    for ei in range(e):
        a = coefs[ei].permute(0, 3, 1, 2)  # (F, T, C, K)
        re, im = a.real, a.imag
        if method == "plv":
            left = torch.cat([re, im], dim=-1)  # Re S = Re X Re Y + Im X Im Y
            for fi in range(f):
                s = torch.complex(left[fi] @ left[fi].transpose(-1, -2),
                                  _imag_csd(re[fi], im[fi]))
                out[ei, fi] = (s / s.abs()).sum(0).abs() / t
            continue
        for fi in range(f):
            im_s = _imag_csd(re[fi], im[fi])  # (T, C, C)
            if method == "pli":
                out[ei, fi] = im_s.sign_().sum(0).abs_() / t
            else:  # wpli
                out[ei, fi] = numerator[ei, fi] / im_s.abs_().sum(0)
    return out


def _phase_connectivity_compiled(coefs: torch.Tensor, method: str) -> torch.Tensor:
    """PLI, wPLI and multitaper PLV through the fused compiled kernel (CPU)."""
    e, f, c, k, t = coefs.shape
    kind = {"pli": _kernels.PLI, "wpli": _kernels.WPLI, "plv": _kernels.PLV}[method]
    s0, s1 = _kernels.pair_sums(coefs.numpy(), kind)
    rows, cols = np.triu_indices(c, 1)
    s0, s1 = s0[..., rows, cols], s1[..., rows, cols]
    if method == "pli":
        values = np.abs(s0) / t
    elif method == "wpli":
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.abs(s0) / s1
    else:
        values = np.hypot(s0, s1) / t
    out = torch.zeros((e, f, c, c), dtype=coefs.real.dtype)
    vals = torch.as_tensor(values, dtype=coefs.real.dtype)
    out[:, :, rows, cols] = vals
    out[:, :, cols, rows] = vals
    return out


def _imag_csd(re: torch.Tensor, im: torch.Tensor) -> torch.Tensor:
    """Im S_xy(t) for every pair: (T, C, K) real and imaginary parts -> (T, C, C)."""
    return torch.cat([im, -re], dim=-1) @ torch.cat([re, im], dim=-1).transpose(-1, -2)


def band_analytic(
    data: np.ndarray, sfreq: float, band: Band, *, n_fft: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Band-pass filter epochs (MNE's zero-phase FIR) and return them with their analytic signal.

    Parameters
    ----------
    data : ndarray of shape (n_epochs, n_channels, n_times)
    sfreq : float
    band : Band
    n_fft : int, optional
        FFT length of the Hilbert transform (default: the next fast length >= n_times, as
        mne-connectivity's ``envelope_correlation`` uses).

    Returns
    -------
    filtered : ndarray of shape (n_epochs, n_channels, n_times)
    analytic : ndarray of complex, shape (n_epochs, n_channels, n_times)
    """
    import mne
    from scipy.fft import next_fast_len
    from scipy.signal import hilbert

    n_times = data.shape[-1]
    filtered = mne.filter.filter_data(
        np.asarray(data, dtype=np.float64), sfreq, band.fmin, band.fmax, verbose="error"
    )
    n_fft = n_fft or next_fast_len(n_times)
    analytic = hilbert(filtered, N=n_fft, axis=-1)[..., :n_times]
    return filtered, analytic


def _envelope_connectivity(
    data: np.ndarray, sfreq: float, method: str, bands: Sequence[Band], out: np.ndarray,
    dtype: torch.dtype, device: torch.device, progress: ProgressCallback,
) -> None:
    for b, band in enumerate(bands):
        filtered, analytic = band_analytic(data, sfreq, band)
        if method == "corr":
            x = torch.as_tensor(filtered, dtype=dtype, device=device)
            con = _pearson(x, x)
        else:
            cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
            z = torch.as_tensor(analytic, device=device).to(cdtype)
            env = z.abs()
            if method == "aec":
                con = _pearson(env, env)
            elif device.type == "cpu" and _kernels.HAVE_NUMBA:
                con = torch.as_tensor(_kernels.aec_orth(analytic), dtype=dtype).abs()
                con = (con + con.transpose(-1, -2)) / 2
            else:
                con = _orthogonalised_aec(z, env)
        upper = torch.triu(con, diagonal=1)
        out[:, b] = (upper + upper.transpose(-1, -2)).cpu().numpy()
        progress("connectivity", b + 1, len(bands))


def _pearson(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pearson correlation over time of every row pair: (e, C, T) x (e, C, T) -> (e, C, C)."""
    xc = x - x.mean(-1, keepdim=True)
    yc = y - y.mean(-1, keepdim=True)
    xn = torch.linalg.vector_norm(xc, dim=-1)
    yn = torch.linalg.vector_norm(yc, dim=-1)
    xn = torch.where(xn == 0, torch.ones_like(xn), xn)
    yn = torch.where(yn == 0, torch.ones_like(yn), yn)
    return (xc @ yc.transpose(-1, -2)) / (xn[..., :, None] * yn[..., None, :])


def _orthogonalised_aec(z: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
    """Pairwise-orthogonalised envelope correlation (Hipp et al. 2012), |.| and symmetrised."""
    e, c, t = z.shape
    unit_conj = z.conj() / env
    env_c = env - env.mean(-1, keepdim=True)
    env_n = torch.linalg.vector_norm(env_c, dim=-1)
    env_n = torch.where(env_n == 0, torch.ones_like(env_n), env_n)
    con = torch.empty((e, c, c), dtype=env.dtype, device=env.device)
    for k in range(e):
        # orth[i, j] = |Im(z_i conj(z_j) / |z_j|)|: signal i orthogonalised to signal j
        orth = (z[k, :, None, :] * unit_conj[k, None, :, :]).imag.abs_()
        orth -= orth.mean(-1, keepdim=True)
        orth_n = torch.linalg.vector_norm(orth, dim=-1)
        orth_n = torch.where(orth_n == 0, torch.ones_like(orth_n), orth_n)
        con[k] = (orth * env_c[k, None, :, :]).sum(-1) / (env_n[k, None, :] * orth_n)
    con = con.abs()
    return (con + con.transpose(-1, -2)) / 2


def band_names(bands: Iterable[Band]) -> list[str]:
    """Names of ``bands`` in order."""
    return [b.name for b in bands]
