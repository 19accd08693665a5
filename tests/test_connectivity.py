"""Known-answer tests of the FC engine against nilearn's ConnectivityMeasure."""

from __future__ import annotations

import numpy as np
import pytest
from nilearn.connectome import ConnectivityMeasure
from sklearn.covariance import EmpiricalCovariance, LedoitWolf

from neurocl._core.errors import ParameterError
from neurocl.connectivity import (
    KINDS,
    ConnectivityEstimator,
    dynamic_connectivity,
    fisher_z,
    n_windows,
    sliding_windows,
)
from neurocl.connectivity.static import _empirical_into

TOL = {"correlation": 1e-5, "covariance": 1e-5, "precision": 1e-6,
       "partial correlation": 1e-6, "tangent": 1e-6}


@pytest.fixture
def signals(rng):
    # 7 samples, 61 frames, 9 nodes, correlated through a random mixing matrix
    mix = rng.standard_normal((9, 9))
    return rng.standard_normal((7, 61, 9)) @ mix + rng.standard_normal(9)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("shrinkage", "reference"),
    [(None, EmpiricalCovariance(store_precision=False)),
     ("ledoit-wolf", LedoitWolf(store_precision=False))],
)
def test_static_matches_nilearn(signals, kind, shrinkage, reference):
    expected = ConnectivityMeasure(kind=kind, cov_estimator=reference).fit_transform(
        list(signals)
    )
    got = ConnectivityEstimator(kind, shrinkage=shrinkage).fit_transform(signals)
    assert got.shape == (7, 9, 9)
    scale = max(1.0, np.abs(expected).max()) if kind == "precision" else 1.0
    np.testing.assert_allclose(got, expected, atol=TOL[kind] * scale, rtol=0)


def test_unequal_lengths_match_nilearn(rng):
    xs = [rng.standard_normal((t, 6)) for t in (40, 55, 40, 70)]
    expected = ConnectivityMeasure(
        kind="tangent", cov_estimator=LedoitWolf(store_precision=False)
    ).fit_transform(xs)
    got = ConnectivityEstimator("tangent", shrinkage="ledoit-wolf").fit_transform(xs)
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("kind", ["tangent", "partial correlation", "precision"])
def test_inverse_kinds_symmetric_and_finite(signals, kind):
    got = ConnectivityEstimator(kind, shrinkage="ledoit-wolf").fit_transform(signals)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, np.swapaxes(got, 1, 2), atol=1e-10)


def test_correlation_is_plain_pearson(signals):
    got = ConnectivityEstimator("correlation").fit_transform(signals)
    for x, c in zip(signals, got, strict=True):
        np.testing.assert_allclose(c, np.corrcoef(x.T), atol=1e-12)


def test_fisher_z_zeroes_diagonal(signals):
    z = ConnectivityEstimator("correlation", fisher_z=True).fit_transform(signals)
    r = ConnectivityEstimator("correlation").fit_transform(signals)
    assert np.all(np.diagonal(z, axis1=1, axis2=2) == 0)
    off = ~np.eye(9, dtype=bool)
    np.testing.assert_allclose(z[:, off], np.arctanh(r[:, off]), atol=1e-10)
    np.testing.assert_allclose(fisher_z(r.copy())[:, off], z[:, off])


def test_fisher_z_refused_for_covariance(signals):
    with pytest.raises(ParameterError, match="correlation kinds only"):
        ConnectivityEstimator("covariance", fisher_z=True).fit_transform(signals)


def test_short_signals_need_shrinkage(rng):
    x = rng.standard_normal((3, 15, 10))
    with pytest.raises(ParameterError, match="ledoit-wolf"):
        ConnectivityEstimator("tangent").fit_transform(x)
    ConnectivityEstimator("tangent", shrinkage="ledoit-wolf").fit_transform(x)


def test_kind_names_are_normalised(signals):
    a = ConnectivityEstimator("partial_correlation", shrinkage="lw").fit_transform(signals)
    b = ConnectivityEstimator("partial correlation", shrinkage="ledoit-wolf").fit_transform(signals)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ParameterError, match="kind must be one of"):
        ConnectivityEstimator("coherence").fit_transform(signals)


@pytest.mark.parametrize(("n_times", "length", "stride", "expected"),
                         [(168, 30, 5, 28), (100, 100, 1, 1), (99, 100, 1, 0), (50, 10, 7, 6)])
def test_window_counts(n_times, length, stride, expected):
    assert n_windows(n_times, length, stride) == expected


def test_sliding_windows_are_the_right_frames(rng):
    x = rng.standard_normal((50, 4))
    w = sliding_windows(x, 10, 7)
    assert w.shape == (6, 10, 4)
    np.testing.assert_array_equal(w[2], x[14:24])


@pytest.mark.parametrize("chunk_bytes", [8e6, 1.0])  # one chunk; one sample per chunk
def test_dynamic_matches_nilearn_on_all_windows(rng, monkeypatch, chunk_bytes):
    from neurocl.connectivity import dynamic

    monkeypatch.setattr(dynamic, "_CHUNK_BYTES", chunk_bytes)
    x = rng.standard_normal((3, 48, 5))
    dfc = dynamic_connectivity(x, 20, 7, "correlation")
    assert dfc.shape == (3, 5, 5, 5)
    windows = [x[s, i * 7 : i * 7 + 20] for s in range(3) for i in range(5)]
    expected = ConnectivityMeasure(
        kind="correlation", cov_estimator=EmpiricalCovariance(store_precision=False)
    ).fit_transform(windows)
    np.testing.assert_allclose(dfc.reshape(15, 5, 5), expected, atol=1e-5)


def test_dynamic_tangent_uses_one_reference(rng):
    x = rng.standard_normal((2, 60, 4))
    dfc = dynamic_connectivity(x, 25, 5, "tangent", shrinkage="ledoit-wolf")
    windows = [x[s, i * 5 : i * 5 + 25] for s in range(2) for i in range(8)]
    expected = ConnectivityMeasure(
        kind="tangent", cov_estimator=LedoitWolf(store_precision=False)
    ).fit_transform(windows)
    np.testing.assert_allclose(dfc.reshape(16, 4, 4), expected, atol=1e-6)


def test_dynamic_refuses_windows_longer_than_signal(rng):
    with pytest.raises(ParameterError, match="fewer than the window"):
        dynamic_connectivity(rng.standard_normal((2, 20, 3)), 30, 5)


def test_real_development_subjects_match_nilearn(test_data):
    ts = np.load(test_data / "development_fmri" / "timeseries_aal116.npz",
                 allow_pickle=False)["timeseries"][:12].astype(np.float64)
    for kind in ("correlation", "tangent", "partial correlation"):
        expected = ConnectivityMeasure(
            kind=kind, cov_estimator=LedoitWolf(store_precision=False)
        ).fit_transform(list(ts))
        got = ConnectivityEstimator(kind, shrinkage="ledoit-wolf").fit_transform(ts)
        np.testing.assert_allclose(got, expected, atol=TOL[kind])


def test_precision_after_thread_changes_in_a_fresh_process() -> None:
    """Batched LU inverses of 200+ node matrices fail in torch 2.13's CPU build once
    ``torch.set_num_threads`` has been called; precision kinds use Cholesky instead."""
    import subprocess
    import sys

    code = (
        "import numpy as np, torch\n"
        "from neurocl.connectivity import connectivity\n"
        "torch.set_num_threads(1); torch.set_num_threads(max(2, torch.get_num_threads()))\n"
        "x = np.random.default_rng(0).standard_normal((3, 500, 210))\n"
        "p = connectivity(x, 'precision')\n"
        "ref = np.linalg.inv(np.stack([np.cov(s.T, bias=True) for s in x]))\n"
        "assert np.abs(p - ref).max() / np.abs(ref).max() < 1e-10\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


@pytest.mark.parametrize("offset", [0.0, 30.0, 300.0, 3e3, 1e5, 1e8])
def test_covariance_of_signals_with_large_means(offset: float) -> None:
    """The CPU path skips the centred copy unless the means dwarf the spread: either way the
    covariance equals numpy's to 1e-9 relative."""
    import torch

    from neurocl.connectivity.static import empirical_covariance

    x = offset + np.random.default_rng(3).standard_normal((3, 130, 70))
    ours = empirical_covariance(torch.from_numpy(x)).numpy()
    ref = np.stack([np.cov(s.T, bias=True) for s in x])
    assert np.abs(ours - ref).max() <= 1e-9 * np.abs(ref).max()
    np.testing.assert_array_equal(ours, ours.transpose(0, 2, 1))


def _spd_stack(rng, n_mats: int, n: int) -> np.ndarray:
    a = rng.standard_normal((n_mats, 3 * n, n))
    return np.einsum("sti,stj->sij", a, a) / (3 * n)


def test_cpu_tangent_kernels_equal_scipy_logm(rng) -> None:
    """The per-core kernels rebuild logm(W C W) from two symmetric rank-k products."""
    from scipy.linalg import logm

    from neurocl.connectivity._linalg import whitened_log_sum, whitened_logs

    cov = _spd_stack(rng, 9, 25)
    w = np.linalg.inv(np.linalg.cholesky(cov.mean(0)))
    w = w.T @ w  # any SPD matrix will do as the whitening
    ref = np.stack([logm(w @ c @ w).real for c in cov])
    out = np.empty_like(cov)
    whitened_logs(cov, w, out)
    np.testing.assert_allclose(out, ref, atol=1e-10)
    np.testing.assert_array_equal(out, out.transpose(0, 2, 1))
    np.testing.assert_allclose(whitened_log_sum(cov, w), ref.sum(0), atol=1e-9)


def test_tangent_refuses_an_indefinite_covariance_by_sample(rng) -> None:
    import torch

    from neurocl._core.errors import InputFileError
    from neurocl.connectivity.static import geometric_mean

    cov = _spd_stack(rng, 6, 12)
    est = ConnectivityEstimator("tangent").fit_covariances(cov)
    assert 1 <= est.n_iter_ < 30
    bad = cov.copy()
    bad[4] -= 2.0 * np.eye(12) * np.linalg.eigvalsh(cov[4])[0]  # one negative eigenvalue
    with pytest.raises(InputFileError, match="sample 4"):
        est.transform_covariances(bad)
    with pytest.raises(InputFileError, match="sample 4"):
        ConnectivityEstimator("tangent").fit_covariances(bad)
    with pytest.raises(InputFileError, match="sample 4"):  # the kernel's own check
        geometric_mean(torch.from_numpy(bad))


def test_per_core_loops_equal_the_single_threaded_result(rng) -> None:
    """Chunks spread over the cores and the tangent sums split across workers give the
    one-worker result."""
    import torch

    x = rng.standard_normal((11, 90, 20)) @ rng.standard_normal((20, 20))
    one = {}
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for kind in ("correlation", "tangent"):
            one[kind] = ConnectivityEstimator(kind, chunk_size=2).fit_transform(x)
    finally:
        torch.set_num_threads(before)
    torch.set_num_threads(2)
    try:
        for kind in ("correlation", "tangent"):
            got = ConnectivityEstimator(kind, chunk_size=2).fit_transform(x)
            np.testing.assert_allclose(got, one[kind], atol=1e-9)
    finally:
        torch.set_num_threads(before)
    expected = ConnectivityMeasure(
        kind="tangent", cov_estimator=EmpiricalCovariance(store_precision=False)
    ).fit_transform(list(x))
    np.testing.assert_allclose(one["tangent"], expected, atol=TOL["tangent"])


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("offset", [0.0, 1e5])  # small means; means that need centring
@pytest.mark.parametrize("kind", ["correlation", "covariance", "tangent"])
def test_long_signals_match_nilearn_on_both_cpu_paths(rng, monkeypatch, kind, offset,
                                                      fused) -> None:
    """Large samples of 64+ frames go straight from BLAS into the outputs on the CPU; smaller
    ones are batched."""
    from neurocl.connectivity import static

    monkeypatch.setattr(static, "_FUSED_MIN_WORK", 0.0 if fused else np.inf)
    calls = []
    monkeypatch.setattr(static, "_empirical_into",
                        lambda *a, **k: calls.append(1) or _empirical_into(*a, **k))
    x = rng.standard_normal((5, 120, 16)) @ rng.standard_normal((16, 16)) + offset
    xs = [*x, x[0][:90]]  # one shorter sample: a second batch
    expected = ConnectivityMeasure(
        kind=kind, cov_estimator=EmpiricalCovariance(store_precision=False)
    ).fit_transform(xs)
    est = ConnectivityEstimator(kind)
    got = est.fit_transform(xs)
    scale = max(1.0, np.abs(expected).max()) if kind == "covariance" else 1.0
    np.testing.assert_allclose(got, expected, atol=TOL[kind] * scale, rtol=0)
    np.testing.assert_array_equal(got, got.transpose(0, 2, 1))
    cov, fc = est.covariances_and_fc(xs)
    np.testing.assert_allclose(cov, np.stack([np.cov(s.T, bias=True) for s in xs]),
                               rtol=1e-9, atol=1e-9 * np.abs(cov).max())
    if kind == "correlation":
        np.testing.assert_array_equal(np.diagonal(fc, axis1=1, axis2=2), 1.0)
        z = ConnectivityEstimator(kind, fisher_z=True).fit_transform(xs)
        np.testing.assert_allclose(z, np.arctanh(np.clip(fc, -1 + 1e-7, 1 - 1e-7))
                                   * (1 - np.eye(16)), atol=1e-12)
    assert bool(calls) == fused


def test_static_and_dynamic_loops_use_every_core(rng, monkeypatch) -> None:
    """The per-core loops see torch's thread count, not a count lowered around them."""
    import torch

    from neurocl.connectivity import _linalg, dynamic, static

    seen = []

    def recording(function, items, workers=None):
        seen.append(_linalg.cpu_workers())
        return _linalg.per_core_map(function, items, workers)

    monkeypatch.setattr(static, "per_core_map", recording)
    monkeypatch.setattr(dynamic, "per_core_map", recording)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        x = rng.standard_normal((6, 150, 8))
        ConnectivityEstimator("correlation", chunk_size=2).fit_transform(x)
        dynamic_connectivity(x, 70, 40, "correlation")  # windows of 64+ frames
    finally:
        torch.set_num_threads(before)
    assert seen == [2, 2]


def test_overlapping_callers_restore_the_thread_counts(rng) -> None:
    """Concurrent FC calls (e.g. a threaded Dask worker) leave BLAS and torch as they were."""
    import threading

    import torch
    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    before = (blas_threads(), torch.get_num_threads())
    x = rng.standard_normal((8, 100, 12))
    expected = ConnectivityEstimator("correlation", chunk_size=1).fit_transform(x)
    results, errors = [], []

    def call() -> None:
        try:
            for _ in range(5):
                results.append(ConnectivityEstimator("correlation", chunk_size=1).fit_transform(x))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 15
    for got in results:
        np.testing.assert_allclose(got, expected, atol=1e-12)
    assert (blas_threads(), torch.get_num_threads()) == before
