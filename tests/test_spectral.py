"""Known-answer tests of the EEG spectral connectivity against mne-connectivity."""

from __future__ import annotations

import numpy as np
import pytest

from neurocl._core.errors import ParameterError
from neurocl.connectivity import _spectral_kernels
from neurocl.connectivity.spectral import (
    SPECTRAL_METHODS,
    band_analytic,
    band_frequencies,
    default_n_cycles,
    parse_bands,
    spectral_connectivity,
)

PHASE_METHODS = ["coh", "imcoh", "plv", "pli", "wpli"]
ENVELOPE_METHODS = ["aec", "aec-orth", "corr"]
# float32 agrees with mne-connectivity (float64) to rounding, except PLI: a sign flip of
# Im S_xy at one sample (where it is ~0) moves PLI by 2 / n_times at that frequency
TOL32 = {"pli": 2e-3}


def test_every_registered_method_is_tested():
    assert set(SPECTRAL_METHODS.names()) == set(PHASE_METHODS + ENVELOPE_METHODS)


def _phase_lag_epochs(rng, n_epochs=6, sfreq=200.0, seconds=4.0, lag=np.pi / 4, freq=10.0):
    """Channel 1 follows channel 0 at a fixed lag; channel 2 is independent; all noisy."""
    t = np.arange(int(seconds * sfreq)) / sfreq
    out = np.empty((n_epochs, 3, len(t)))
    for e in range(n_epochs):
        drift = np.cumsum(rng.standard_normal(len(t))) * 0.05  # slow phase wander
        phase = 2 * np.pi * freq * t + drift
        out[e, 0] = np.sin(phase) + 0.3 * rng.standard_normal(len(t))
        out[e, 1] = np.sin(phase - lag) + 0.3 * rng.standard_normal(len(t))
        out[e, 2] = rng.standard_normal(len(t))
    return out, sfreq


@pytest.mark.parametrize("mode", ["multitaper", "wavelet"])
def test_fixed_phase_lag_is_found(rng, mode):
    data, sfreq = _phase_lag_epochs(rng)
    for method in ("plv", "wpli", "pli"):
        fc = spectral_connectivity(data, sfreq, method=method, bands="alpha", mode=mode)
        assert fc.shape == (6, 1, 3, 3)
        assert (fc[:, 0, 0, 1] > 0.95).all(), (method, fc[:, 0, 0, 1])
        # independent noise: near 0 up to the small-sample bias of one epoch. With ~0.5-s
        # windows a 4-s epoch holds about n = 8 independent samples, and the PLV of
        # unrelated phases is then about sqrt(pi / (4 n)) ~ 0.3 (wPLI/PLI scatter as much)
        noise = np.concatenate([fc[:, 0, 0, 2], fc[:, 0, 1, 2]])
        assert noise.mean() < 0.35 and noise.max() < 0.7, (method, noise)
        np.testing.assert_allclose(fc[:, 0], fc[:, 0].transpose(0, 2, 1))
        assert (np.diagonal(fc, axis1=-2, axis2=-1) == 0).all()
    imcoh = spectral_connectivity(data, sfreq, method="imcoh", bands="alpha", mode=mode)
    # channel 0 leads by pi/4: Im(E[S_01]) / |E[S_01]| = sin(pi/4)
    coh = spectral_connectivity(data, sfreq, method="coh", bands="alpha", mode=mode)
    ratio = imcoh[:, 0, 0, 1] / coh[:, 0, 0, 1]
    np.testing.assert_allclose(ratio, np.sin(np.pi / 4), atol=0.1)
    np.testing.assert_allclose(imcoh[:, 0], -imcoh[:, 0].transpose(0, 2, 1))


def test_envelope_methods_find_a_shared_envelope(rng):
    sfreq, n = 200.0, 800
    t = np.arange(n) / sfreq
    data = np.empty((4, 3, n))
    for e in range(4):
        env = 1 + 0.8 * np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 2 * np.pi))
        data[e, 0] = env * np.sin(2 * np.pi * 10 * t) + 0.1 * rng.standard_normal(n)
        data[e, 1] = env * np.sin(2 * np.pi * 10 * t - np.pi / 2) + 0.1 * rng.standard_normal(n)
        data[e, 2] = rng.standard_normal(n)
    aec = spectral_connectivity(data, sfreq, method="aec", bands="alpha")
    orth = spectral_connectivity(data, sfreq, method="aec-orth", bands="alpha")
    assert (aec[:, 0, 0, 1] > 0.8).all()
    assert (orth[:, 0, 0, 1] > 0.6).all()  # lagged by pi/2: survives orthogonalisation
    assert (np.abs(aec[:, 0, 0, 2]) < 0.5).all()


def _real_epochs(test_data, n_epochs=3, channels=slice(0, 64, 8)):
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_edf(test_data / "eeg_motor_imagery" / "S001R04.edf", preload=True,
                              verbose="error")
    ev, _ = mne.events_from_annotations(raw, event_id={"T1": 1, "T2": 2}, verbose="error")
    ep = mne.Epochs(raw, ev, tmin=0, tmax=4, baseline=None, preload=True, verbose="error")
    return ep.get_data()[:n_epochs, channels], raw.info["sfreq"]


@pytest.mark.parametrize("mode", ["multitaper", "wavelet"])
@pytest.mark.parametrize("method", PHASE_METHODS)
def test_matches_mne_connectivity_on_real_epochs(test_data, method, mode):
    mnec = pytest.importorskip("mne_connectivity")
    data, sfreq = _real_epochs(test_data)
    bands = parse_bands(None)
    freqs, masks = band_frequencies(bands)
    n = data.shape[1]
    rows, cols = np.triu_indices(n, 1)
    ref = mnec.spectral_connectivity_time(
        data, freqs, method=method, indices=(rows, cols), sfreq=sfreq,
        mode="cwt_morlet" if mode == "wavelet" else "multitaper",
        n_cycles=default_n_cycles(freqs), faverage=False, verbose=False,
    ).get_data()  # (epochs, pairs, freqs)
    ref = np.einsum("epf,bf->ebp", ref, masks / masks.sum(1, keepdims=True))
    ours64 = spectral_connectivity(data, sfreq, method=method, mode=mode, dtype="float64")
    np.testing.assert_allclose(ours64[..., rows, cols], ref, rtol=0, atol=1e-10)
    ours32 = spectral_connectivity(data, sfreq, method=method, mode=mode)
    np.testing.assert_allclose(ours32[..., rows, cols], ref, rtol=0,
                               atol=TOL32.get(method, 1e-5))


@pytest.mark.parametrize("method", ["aec", "aec-orth"])
def test_envelope_correlation_matches_mne_connectivity(test_data, method):
    mnec = pytest.importorskip("mne_connectivity")
    data, sfreq = _real_epochs(test_data)
    bands = parse_bands("theta,beta")
    ours = spectral_connectivity(data, sfreq, method=method, bands=bands, dtype="float64")
    n = data.shape[1]
    off = ~np.eye(n, dtype=bool)
    for b, band in enumerate(bands):
        filtered, _ = band_analytic(data, sfreq, band)
        ref = mnec.envelope_correlation(
            filtered, orthogonalize="pairwise" if method == "aec-orth" else False
        ).get_data(output="dense")[..., 0]
        np.testing.assert_allclose(ours[:, b][:, off], ref[:, off], atol=1e-10)


def test_corr_is_pearson_of_band_passed_signals(test_data):
    data, sfreq = _real_epochs(test_data, n_epochs=2)
    band = parse_bands("alpha")[0]
    ours = spectral_connectivity(data, sfreq, method="corr", bands=[band], dtype="float64")
    filtered, _ = band_analytic(data, sfreq, band)
    for e in range(2):
        ref = np.corrcoef(filtered[e])
        np.fill_diagonal(ref, 0)
        np.testing.assert_allclose(ours[e, 0], ref, atol=1e-10)


@pytest.mark.parametrize("method", ["pli", "wpli", "plv", "aec-orth"])
@pytest.mark.parametrize("mode", ["multitaper", "wavelet"])
def test_torch_fallback_equals_compiled_kernel(rng, monkeypatch, method, mode):
    pytest.importorskip("numba", reason="the compiled kernels need numba (extra 'fast')")
    if method == "aec-orth":
        mode = None
    data = rng.standard_normal((3, 5, 700))
    fast = spectral_connectivity(data, 160.0, method=method, bands="theta,beta", mode=mode,
                                 dtype="float64")
    monkeypatch.setattr(_spectral_kernels, "HAVE_NUMBA", False)
    slow = spectral_connectivity(data, 160.0, method=method, bands="theta,beta", mode=mode,
                                 dtype="float64")
    np.testing.assert_allclose(fast, slow, atol=1e-10)


def test_parse_bands():
    assert [b.name for b in parse_bands(None)] == ["delta", "theta", "alpha", "beta", "gamma"]
    mu = parse_bands("alpha, mu=8-12")[1]
    assert (mu.name, mu.fmin, mu.fmax) == ("mu", 8.0, 12.0)
    assert parse_bands({"low": (1, 3)})[0].fmax == 3.0
    for bad in ("kappa", "mu=12-8", "mu=8", "alpha,alpha", ""):
        with pytest.raises(ParameterError):
            parse_bands(bad)


def test_band_frequencies_share_edges():
    freqs, masks = band_frequencies(parse_bands("theta,alpha"))
    np.testing.assert_array_equal(freqs, np.arange(4.0, 14.0))
    assert masks[0, 4] and masks[1, 4]  # 8 Hz belongs to both


def test_bad_parameters(rng):
    data = rng.standard_normal((2, 3, 640))
    with pytest.raises(ParameterError, match="Nyquist"):
        spectral_connectivity(data, 160.0, bands="high=70-90")
    with pytest.raises(ParameterError, match="at least"):
        spectral_connectivity(data[..., :200], 160.0, bands="delta")
    with pytest.raises(ParameterError, match="Hilbert"):
        spectral_connectivity(data, 160.0, method="aec", mode="multitaper")
    with pytest.raises(ParameterError, match="valid"):
        spectral_connectivity(data, 160.0, method="granger")
    with pytest.raises(ParameterError, match="n_epochs"):
        spectral_connectivity(data[0], 160.0)
