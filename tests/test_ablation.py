"""Network ablation: masking, network tables, the size-matched null, and a planted effect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from neurocl._core.errors import InputFileError, ParameterError
from neurocl.data.dataset import FCDataset, write_dataset
from neurocl.evaluate.ablation import (
    FoldProbes,
    GramProbes,
    ablate,
    edge_columns,
    edge_index,
    fdr_bh,
    mask_fc,
    network_sets,
    prepare_setup,
    raw_fc_matrix,
    select_networks,
)

#: node networks of the simulated atlas: 4 networks (3 distinct sizes, to keep the null small)
#: and 2 unassigned nodes
NETWORKS = (["Visual"] * 5 + ["Default"] * 6 + ["Limbic"] * 5 + ["Somatomotor"] * 5
            + ["None"] * 2)
PLANTED = "Default"


def simulate(path: Path, *, seed: int = 0, effect: float = 0.15, n_per_class: int = 30,
             networks: list[str] | None = None, planted: str = PLANTED) -> FCDataset:
    """Correlation-like FC whose classes differ only inside the planted network's block."""
    rng = np.random.default_rng(seed)
    nets = list(networks or NETWORKS)
    n = len(nets)
    s = 2 * n_per_class
    noise = rng.normal(0, 0.18, (s, n, n))
    fc = np.tanh(0.2 + (noise + np.swapaxes(noise, 1, 2)) / np.sqrt(2))
    y = np.repeat([0, 1], n_per_class)
    member = np.array([v == planted for v in nets])
    block = np.outer(member, member)
    fc[y == 1] += effect * block
    fc = np.clip(fc, -0.95, 0.95)
    for m in fc:
        np.fill_diagonal(m, 0.0)
    subjects = pd.DataFrame({
        "sample_id": [f"sub-{i:03d}" for i in range(s)],
        "subject_id": [f"sub-{i:03d}" for i in range(s)],
        "group": np.where(y == 1, "patient", "control"),
    })
    nodes = pd.DataFrame({"name": [f"roi{i:02d}" for i in range(n)], "network": nets,
                          "x": rng.uniform(-60, 60, n), "y": rng.uniform(-90, 60, n),
                          "z": rng.uniform(-30, 70, n)})
    return write_dataset(path, fc=fc.astype(np.float32), subjects=subjects, nodes=nodes,
                         meta={"modality": "fmri", "kind": "correlation", "fisher_z": False,
                               "atlas": "simulated"})


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> FCDataset:
    return simulate(tmp_path_factory.mktemp("abl") / "sim.ds")


class FlatEncoder:
    """A stand-in encoder: the embedding is the upper triangle of the (given) FC."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, dataset: FCDataset, *, fc: np.ndarray | None = None) -> np.ndarray:
        self.calls += 1
        mats = np.asarray(dataset.fc if fc is None else fc, dtype=np.float64)
        rows, cols = np.triu_indices(mats.shape[-1], 1)
        return mats[:, rows, cols]


# --------------------------------------------------------------------------- units
def test_mask_fc_drop_and_keep_only(rng: np.random.Generator) -> None:
    fc = rng.standard_normal((3, 7, 7)).astype(np.float32)
    before = fc.copy()
    idx = np.array([1, 4])
    dropped = mask_fc(fc, idx, "drop")
    kept = mask_fc(fc, idx, "keep-only")
    np.testing.assert_array_equal(fc, before)  # input unchanged
    assert np.all(dropped[:, idx, :] == 0) and np.all(dropped[:, :, idx] == 0)
    rest = np.setdiff1d(np.arange(7), idx)
    np.testing.assert_array_equal(dropped[:, rest][:, :, rest], fc[:, rest][:, :, rest])
    np.testing.assert_array_equal(kept[:, idx][:, :, idx], fc[:, idx][:, :, idx])
    assert np.count_nonzero(kept) == np.count_nonzero(fc[:, idx][:, :, idx])
    with pytest.raises(ParameterError, match="mode must be one of"):
        mask_fc(fc, idx, "zero")


def test_edge_columns_match_masked_upper_triangle(rng: np.random.Generator) -> None:
    n = 9
    rows, cols = edge_index(n, diagonal=False)
    idx = np.array([0, 3, 5])
    drop = edge_columns(rows, cols, idx, "drop", n)
    keep = edge_columns(rows, cols, idx, "keep-only", n)
    assert len(drop) == (n - 3) * (n - 4) // 2
    assert len(keep) == 3
    assert not set(rows[drop]) & set(idx) and not set(cols[drop]) & set(idx)
    assert set(rows[keep]) | set(cols[keep]) <= set(idx)


def test_fdr_matches_scipy(rng: np.random.Generator) -> None:
    p = rng.uniform(0, 0.2, 11)
    np.testing.assert_allclose(fdr_bh(p), false_discovery_control(p, method="bh"))
    q = fdr_bh(np.array([0.01, np.nan, 0.04]))
    assert np.isnan(q[1]) and np.isclose(q[0], 0.02) and np.isclose(q[2], 0.04)


def test_network_sets_from_nodes_and_table(tmp_path: Path) -> None:
    nodes = pd.DataFrame({"name": ["a", "b", "c", "d", "e"],
                          "network": ["Vis", "DMN", "None", "Default", "Visual"]})
    sets = network_sets(nodes)
    assert list(sets) == ["Visual", "Default", "None"]
    np.testing.assert_array_equal(sets["Visual"], [0, 4])
    np.testing.assert_array_equal(sets["Default"], [1, 3])
    assert "None" not in network_sets(nodes, unassigned="drop")
    table = tmp_path / "nets.tsv"
    pd.DataFrame({"name": ["e", "d", "c", "b", "a"],
                  "network": ["Cont", "Cont", "Limbic", "Limbic", "Limbic"]}).to_csv(
        table, sep="\t", index=False)
    sets = network_sets(nodes, table)
    np.testing.assert_array_equal(sets["Frontoparietal"], [3, 4])
    np.testing.assert_array_equal(sets["Limbic"], [0, 1, 2])
    short = tmp_path / "short.tsv"
    pd.DataFrame({"name": ["a", "b"], "network": ["Vis", "Vis"]}).to_csv(
        short, sep="\t", index=False)
    with pytest.raises(InputFileError, match="does not cover 3 of the dataset's 5 nodes"):
        network_sets(nodes, short)
    with pytest.raises(ParameterError, match="unassigned must be one of"):
        network_sets(nodes, unassigned="keep")


def test_select_networks_errors() -> None:
    sets = {"Visual": np.array([0, 1]), "Default": np.array([2, 3, 4])}
    assert list(select_networks(sets, ["dmn"], 5)) == ["Default"]
    with pytest.raises(ParameterError, match="unknown network 'Salience'.*Visual, Default"):
        select_networks(sets, ["Salience"], 5)
    with pytest.raises(ParameterError, match="holds all 5 nodes"):
        select_networks({"All": np.arange(5)}, None, 5)


def test_gram_refit_equals_pipeline_refit(planted: FCDataset) -> None:
    setup = prepare_setup(planted, label="group", cv=3, repeats=1)
    raw, diagonal = raw_fc_matrix(planted, None)
    rows, cols = edge_index(planted.n_nodes, diagonal)
    x = raw[:, rows, cols][setup.keep]
    probes = FoldProbes(setup).fit(x)
    gram = GramProbes(probes, x)
    for idx, mode in [(np.arange(5), "drop"), (np.arange(5, 11), "keep-only"),
                      (np.array([2]), "drop")]:
        columns = edge_columns(rows, cols, idx, mode, planted.n_nodes)
        np.testing.assert_allclose(gram.scores(columns), probes.scores(x[:, columns]))


# --------------------------------------------------------------------------- planted effect
def _check_planted(table: pd.DataFrame, rep: str, keep_only: bool = True) -> None:
    sub = table[table["representation"] == rep].reset_index(drop=True)
    assert sub.loc[0, "network"] == PLANTED, sub[["network", "drop_delta"]]
    assert sub.loc[0, "drop_delta"] < 0
    assert sub.loc[0, "drop_p_null"] < 0.05
    others = sub[sub["network"] != PLANTED]
    assert (others["drop_p_null"] >= 0.05).all(), others[["network", "drop_p_null"]]
    if not keep_only:
        return
    best_keep = sub.sort_values("keep_delta", ascending=False).iloc[0]
    assert best_keep["network"] == PLANTED
    assert best_keep["keep_p_null"] < 0.05


def test_raw_fc_ablation_finds_planted_network(planted: FCDataset) -> None:
    res = ablate(planted, label="group", n_null=29, cv=3, repeats=2, seed=0)
    assert res.info["representations"] == ["raw-fc"]
    assert 0.7 < res.info["intact"]["raw-fc"] < 0.95  # an effect, not a trivial one
    _check_planted(res.table, "raw-fc")
    # p-values follow (1 + #{null drop >= observed drop}) / (1 + R)
    row = res.table.iloc[0]
    null = res.null[(res.null["representation"] == "raw-fc") & (res.null["mode"] == "drop")
                    & (res.null["n_nodes"] == row["n_nodes"])]["delta"].to_numpy()
    assert len(null) == 29
    expected = (1 + np.sum(-null >= -row["drop_delta"])) / 30
    assert row["drop_p_null"] == pytest.approx(expected)
    # every network has one fold score per fold and mode, on the same folds as intact
    folds = res.fold_scores
    assert len(folds[folds["mode"] == "intact"]) == res.info["n_folds"] == 6
    assert set(res.table["network"]) == {"Visual", "Default", "Limbic", "Somatomotor", "None"}


def test_encoder_ablation_finds_planted_network(planted: FCDataset) -> None:
    enc = FlatEncoder()
    res = ablate(planted, label="group", encoder=enc, n_null=29, cv=3, repeats=2, seed=1,
                 unassigned="drop", modes=["drop"])
    assert res.info["representations"] == ["encoder", "raw-fc"]
    assert "None" not in set(res.table["network"])
    _check_planted(res.table, "encoder", keep_only=False)
    _check_planted(res.table, "raw-fc", keep_only=False)
    # intact + every network and every null set
    sizes = {len(v) for v in network_sets(planted.nodes, unassigned="drop").values()}
    assert enc.calls == 1 + 4 + 29 * len(sizes)
    only = ablate(planted, label="group", encoder=enc, n_null=0, cv=3, repeats=1,
                  baselines_only=True, modes=["drop"], only=["Default", "Vis"])
    assert only.info["representations"] == ["raw-fc"]
    assert list(only.table["network"]) == ["Default", "Visual"]
    assert only.table["drop_p_null"].isna().all()


class RetrainedEncoder(FlatEncoder):
    """A stand-in whose "retraining" standardises the masked FC it is given, over samples.

    Its frozen embedding (``embed``) is the plain upper triangle, so a retrained embedding
    differs from a masked frozen one: the test can tell which path ablation took.
    """

    def __init__(self) -> None:
        super().__init__()
        self.retrains = 0

    def retrain_embed(self, dataset: FCDataset, fc: np.ndarray) -> np.ndarray:
        self.retrains += 1
        flat = super().embed(dataset, fc=fc)
        self.calls -= 1
        sd = flat.std(axis=0)
        return (flat - flat.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def test_retrain_strategy_retrains_per_set_and_finds_planted_network(
        planted: FCDataset) -> None:
    enc = RetrainedEncoder()
    res = ablate(planted, label="group", encoder=enc, strategy="retrain", cv=3, repeats=2,
                 seed=1, unassigned="drop", modes=["drop"])
    sizes = {len(v) for v in network_sets(planted.nodes, unassigned="drop").values()}
    # the default null is the smaller retrain one; one retraining per network and null set,
    # one frozen pass for the intact representation
    assert res.info["n_null"] == 39 and res.info["strategy"] == "retrain"
    assert enc.retrains == 4 + 39 * len(sizes) and enc.calls == 1
    assert any(n.startswith("retrain:") for n in res.info["notes"])
    _check_planted(res.table, "encoder", keep_only=False)
    # the raw-FC baseline does not depend on the strategy
    masked = ablate(planted, label="group", encoder=FlatEncoder(), cv=3, repeats=2, seed=1,
                    unassigned="drop", modes=["drop"], n_null=39)
    pd.testing.assert_frame_equal(res.table[res.table["representation"] == "raw-fc"],
                                  masked.table[masked.table["representation"] == "raw-fc"])


def test_ablation_bad_input(planted: FCDataset) -> None:
    with pytest.raises(ParameterError, match="label column 'age' is not in the subjects"):
        ablate(planted, label="age", n_null=0)
    with pytest.raises(ParameterError, match="mode must be one of"):
        ablate(planted, label="group", modes=["shuffle"], n_null=0)
    with pytest.raises(ParameterError, match="strategy must be one of mask-input, retrain"):
        ablate(planted, label="group", strategy="shuffle", n_null=0)
    with pytest.raises(ParameterError, match="strategy retrain .* needs a run folder"):
        ablate(planted, label="group", strategy="retrain", n_null=0)
    with pytest.raises(ParameterError, match="strategy retrain .* needs a run folder"):
        ablate(planted, label="group", encoder=FlatEncoder(), strategy="retrain", n_null=0)
    with pytest.raises(ParameterError, match="null size must be >= 0"):
        ablate(planted, label="group", n_null=-1)
    with pytest.raises(ParameterError, match="embed"):
        ablate(planted, label="group", encoder=object(), n_null=0)


def test_ablation_writes_table_and_png(planted: FCDataset, tmp_path: Path) -> None:
    res = ablate(planted, label="group", n_null=5, cv=3, repeats=1)
    files = res.write(tmp_path)
    for f in files:
        assert f.is_file() and f.stat().st_size > 0
    csv = pd.read_csv(tmp_path / "ablation.csv")
    assert {"network", "n_nodes", "drop_balanced_accuracy", "drop_delta", "drop_ci_low",
            "drop_ci_high", "drop_p_null", "drop_p_fdr", "keep_balanced_accuracy",
            "keep_delta", "keep_p_null"} <= set(csv.columns)
    assert (tmp_path / "ablation.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("c", [1e-3, 1.0, 100.0])
def test_linear_predict_matches_sklearn(rng: np.random.Generator, c: float) -> None:
    from sklearn.linear_model import LogisticRegression, Ridge

    from neurocl.evaluate.ablation import linear_predict

    x = rng.standard_normal((47, 19))
    y = (x[:, 0] + rng.normal(size=47) > 0.7).astype(int)
    xt = rng.standard_normal((13, 19))
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    ref = clone_fit(model, x, y, solver="newton-cholesky", tol=1e-12)
    np.testing.assert_array_equal(linear_predict(model, x, y, xt), ref.predict(xt))
    yr = rng.normal(size=47)
    ridge = Ridge(alpha=c)
    np.testing.assert_allclose(linear_predict(ridge, x, yr, xt),
                               Ridge(alpha=c).fit(x, yr).predict(xt), atol=1e-10)


def clone_fit(model, x, y, **params):  # noqa: ANN001, ANN201
    from sklearn.base import clone

    return clone(model).set_params(**params).fit(x, y)
