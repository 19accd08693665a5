"""The planted-effect simulator: known answers on the FC, signals, CLI, and the methods' check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from neurocl._core.errors import ParameterError
from neurocl.cli.main import app
from neurocl.data.dataset import FCDataset, load_dataset
from neurocl.data.simulate import (
    DEFAULT_EFFECT,
    JITTER,
    population_correlation,
    simulate_dataset,
)
from neurocl.evaluate.ablation import ablate
from neurocl.evaluate.importance import importance

runner = CliRunner()


@pytest.fixture(scope="module")
def strong(tmp_path_factory: pytest.TempPathFactory) -> FCDataset:
    """A large effect in the Limbic network (5 nodes), 90 subjects x 130 time points."""
    return simulate_dataset(tmp_path_factory.mktemp("sim") / "strong.ds", n_subjects=90,
                            planted_network="Limbic", effect=0.25, n_times=130, seed=3)


def _block(ds: FCDataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-triangle edges and whether each lies inside the planted network."""
    member = (ds.nodes["network"] == ds.meta["simulation"]["planted_network"]).to_numpy()
    rows, cols = np.triu_indices(ds.n_nodes, 1)
    return rows, cols, member[rows] & member[cols]


def test_population_correlation_differs_only_inside_the_network() -> None:
    nets = ["Visual"] * 4 + ["Default"] * 3 + ["None"] * 2 + ["Limbic"] * 2
    r0, r1 = population_correlation(nets, "Default", 0.2)
    diff = r1 - r0
    member = np.array([n == "Default" for n in nets])
    inside = np.outer(member, member) & ~np.eye(len(nets), dtype=bool)
    np.testing.assert_allclose(diff[inside], 0.2)
    np.testing.assert_array_equal(diff[~inside], 0.0)
    assert r0[0, 1] == 0.3 and r0[0, 4] == 0.1 and r0[7, 8] == 0.1  # "None" is no network
    assert np.linalg.eigvalsh(r1).min() > 0


def test_class_means_differ_only_in_planted_network(strong: FCDataset) -> None:
    """Known answer: the class difference of mean FC is the effect inside, zero outside."""
    assert strong.fc.shape == (90, 100, 100) and strong.meta["atlas"] == "schaefer100"
    y = strong.subjects["label"].to_numpy()
    assert sorted(np.unique(y)) == [0, 1] and np.sum(y == 1) == 45
    rows, cols, inside = _block(strong)
    assert inside.sum() == 10  # Limbic has 5 nodes in Schaefer-100
    edges = np.asarray(strong.fc, dtype=np.float64)[:, rows, cols]
    diff = edges[y == 1].mean(0) - edges[y == 0].mean(0)
    # inside: the population difference 0.25 shrunk by the unit-variance rescaling of the
    # subject jitter (about 1 / (1 + JITTER))
    assert diff[inside].mean() == pytest.approx(0.25 / (1 + JITTER), rel=0.2)
    t = stats.ttest_ind(edges[y == 1], edges[y == 0]).statistic
    assert t[inside].min() > 3
    # outside: no more false positives than chance, and no shift on average
    assert np.mean(np.abs(t[~inside]) > stats.t.ppf(0.995, 88)) < 0.02
    assert abs(diff[~inside].mean()) < 0.005
    assert np.abs(diff[~inside]).max() < diff[inside].min()


def test_timeseries_reproduce_fc(strong: FCDataset, tmp_path: Path) -> None:
    ts = np.asarray(strong.timeseries, dtype=np.float64)
    assert ts.shape == (90, 130, 100)
    for s in (0, 41, 89):
        np.testing.assert_allclose(np.corrcoef(ts[s].T), strong.fc[s], atol=1e-5)
        np.testing.assert_allclose(np.cov(ts[s].T, bias=True), strong.covariance[s],
                                   rtol=1e-6, atol=1e-8)
    again = simulate_dataset(tmp_path / "again.ds", n_subjects=90, planted_network="Limbic",
                             effect=0.25, n_times=130, seed=3, timeseries=False)
    assert again.timeseries is None
    np.testing.assert_array_equal(again.fc, strong.fc)
    np.testing.assert_array_equal(again.subjects["label"], strong.subjects["label"])
    other = simulate_dataset(tmp_path / "other.ds", n_subjects=90, planted_network="Limbic",
                             effect=0.25, n_times=130, seed=4, timeseries=False)
    assert not np.array_equal(other.fc, strong.fc)


def test_bad_input(tmp_path: Path) -> None:
    out = tmp_path / "never.ds"
    with pytest.raises(ParameterError, match="choose one of: Visual, Somatomotor, .*Default"):
        simulate_dataset(out, planted_network="Auditory")
    with pytest.raises(ParameterError, match="n_times must exceed the number of nodes"):
        simulate_dataset(out, n_times=90)
    with pytest.raises(ParameterError, match="not positive definite"):
        simulate_dataset(out, effect=0.9)
    with pytest.raises(ParameterError, match="--subjects must be at least 4"):
        simulate_dataset(out, n_subjects=3)
    assert not out.exists()


def test_cli_simulate(tmp_path: Path) -> None:
    out = tmp_path / "sim.ds"
    res = runner.invoke(app, ["simulate", "--planted-network", "DMN", "--subjects", "14",
                              "--times", "110", "--seed", "2", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["planted_network"] == "Default" and summary["planted_nodes"] == 24
    assert summary["classes"] == {"0": 7, "1": 7} and summary["effect"] == DEFAULT_EFFECT
    ds = load_dataset(out)
    assert ds.timeseries.shape == (14, 110, 100) and ds.meta["simulation"]["seed"] == 2

    res = runner.invoke(app, ["simulate", "--out", str(out), "--subjects", "8"])
    assert res.exit_code == 2 and "already exists; pass --overwrite" in res.output
    res = runner.invoke(app, ["simulate", "--out", str(out), "--subjects", "8", "--overwrite",
                              "--no-timeseries", "--effect", "0.1"])
    assert res.exit_code == 0, res.output
    assert "effect 0.1 planted in Default (24 nodes)" in res.stdout
    assert load_dataset(out).timeseries is None

    bad = tmp_path / "bad.ds"
    res = runner.invoke(app, ["simulate", "--planted-network", "Auditory", "--out", str(bad)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "'Auditory' is not a network of atlas 'schaefer100'" in res.output
    assert "Frontoparietal" in res.output and not bad.exists()


def test_ablate_and_importance_find_the_planted_network(tmp_path: Path) -> None:
    """The known-answer check, small: default effect, 3 folds, 29 null sets."""
    ds = simulate_dataset(tmp_path / "check.ds", planted_network="Default", seed=5,
                          timeseries=False)
    res = ablate(ds, label="label", modes=["drop"], n_null=29, cv=3, repeats=1, seed=5)
    assert 0.65 < res.info["intact"]["raw-fc"] < 0.95  # an effect, not a trivial one
    first = res.table.iloc[0]
    assert first["network"] == "Default"
    assert first["drop_delta"] < 0 and first["drop_p_null"] < 0.05
    imp = importance(ds, label="label", methods=["haufe", "occlusion"], cv=3, seed=5)
    for column in ("haufe_raw_fc", "occlusion_raw_fc"):
        top = imp.top(column, 10)
        assert (top["network"] == "Default").sum() >= 6, top
    assert imp.networks.iloc[0]["network"] == "Default"
