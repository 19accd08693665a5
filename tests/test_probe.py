"""End-to-end tests of the probe: leakage, grouping, known answers, external validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from _probe_data import simulate

from neurocl._core.errors import CheckpointError, DatasetError, ParameterError
from neurocl.connectivity.static import geometric_mean
from neurocl.evaluate import probe, raw_fc_features

FAST = {"cv": 3, "repeats": 2, "probes": ("linear",)}


def _train_rows(result, rep, probe_name, repeat, fold, ids):
    pred = result.predictions
    sel = pred[(pred.representation == rep) & (pred.probe == probe_name)
               & (pred["repeat"] == repeat) & (pred.fold == fold)]
    test = set(sel.sample_id)
    return np.array([i for i, s in enumerate(ids) if s not in test]), sel


def test_planted_effect_is_found(tmp_path):
    ds = simulate(tmp_path / "sim.ds", n_subjects=48, effect=1.2, seed=1)
    res = probe(ds, label="group", cv=4, repeats=1, probes=("linear", "knn"))
    s = res.summary.set_index(["representation", "probe"])
    assert res.info["task"] == "classification"
    assert list(res.summary.representation.unique()) == ["raw-fc", "tangent", "chance"]
    # the block of edges differs between classes: far above chance
    assert s.loc[("raw-fc", "linear"), "balanced_accuracy_mean"] > 0.85
    assert s.loc[("tangent", "linear"), "balanced_accuracy_mean"] > 0.85
    assert s.loc[("raw-fc", "linear"), "roc_auc_mean"] > 0.9
    assert s.loc[("chance", "dummy"), "balanced_accuracy_mean"] == pytest.approx(0.5)
    assert s.loc[("chance", "dummy"), "roc_auc_mean"] == pytest.approx(0.5)
    assert (s["n_folds"] == 4).all()
    # one prediction per test sample, fold and row
    assert len(res.predictions) == 48 * 5
    assert set(res.predictions.columns) >= {"sample_id", "subject_id", "y_true", "y_pred",
                                            "proba_case", "proba_ctrl"}
    # the paired comparison of tangent vs raw FC (no encoder given)
    assert res.comparison[["a", "b"]].values.tolist()[0] == ["tangent", "raw-fc"]
    assert "Nadeau-Bengio" in res.comparison.test.iloc[0]


@pytest.mark.parametrize("label", ["group", "score"])
def test_shuffled_labels_give_chance_for_every_row(tmp_path, label):
    """Leakage test: with labels shuffled between persons (2 shuffles, each 3 folds of 90
    persons), the mean over shuffles of every row must be at chance: |balanced accuracy -
    0.5| <= 0.1 and |ROC AUC - 0.5| <= 0.12 (classification), R² <= 0.05 (regression).
    With the true labels the same rows are far above chance."""
    from neurocl.data.dataset import write_dataset

    ds = simulate(tmp_path / "sim.ds", n_subjects=90, n_nodes=5, effect=1.5, seed=2)
    emb = raw_fc_features(np.asarray(ds.fc), "correlation", False)[:, :6]
    kwargs = {"embeddings": emb, "untrained": emb[:, ::-1] ** 2, "cv": 3, "repeats": 1,
              "probes": ("linear", "knn")}
    metric = "balanced_accuracy_mean" if label == "group" else "r2_mean"
    true = probe(ds, label=label, **kwargs).summary.set_index(["representation", "probe"])
    assert true.loc[("raw-fc", "linear"), metric] > (0.8 if label == "group" else 0.3)
    rows = []
    for i in range(2):
        subjects = ds.subjects.copy()
        subjects[label] = np.random.default_rng(i).permutation(subjects[label].to_numpy())
        shuffled = write_dataset(tmp_path / f"shuf{i}.ds", fc=np.asarray(ds.fc),
                                 subjects=subjects, nodes=ds.nodes, meta=ds.meta,
                                 covariance=np.asarray(ds.covariance))
        rows.append(probe(shuffled, label=label, **kwargs).summary)
    mean = pd.concat(rows).groupby(["representation", "probe"]).mean(numeric_only=True)
    assert len(mean) == 9  # encoder, untrained, raw-fc, tangent x 2 probes + chance
    for key, row in mean.iterrows():
        if label == "group":
            assert abs(row["balanced_accuracy_mean"] - 0.5) <= 0.1, (key, row)
            assert abs(row["roc_auc_mean"] - 0.5) <= 0.12, (key, row)
        else:
            assert row["r2_mean"] <= 0.05, (key, row)


def test_reference_scaler_and_deconfounder_never_see_test_rows(tmp_path):
    ds = simulate(tmp_path / "sim.ds", n_subjects=36, n_nodes=6, seed=3)
    cov = np.asarray(ds.covariance, dtype=np.float64).copy()
    fc = np.asarray(ds.fc, dtype=np.float64)
    # make a third of the persons extreme: any leak of them into a fit would show
    extreme = np.arange(0, 36, 3)
    cov[extreme] *= 1e4
    subjects = ds.subjects.copy()
    subjects.loc[extreme, "age"] += 1e4
    from neurocl.data.dataset import write_dataset

    ds = write_dataset(tmp_path / "ext.ds", fc=fc, subjects=subjects, nodes=ds.nodes,
                       meta=ds.meta, covariance=cov)
    raw = raw_fc_features(fc, "correlation", False)
    raw[extreme] += 1e3
    res = probe(ds, label="group", embeddings=raw, deconfound=["age"], keep_models=True,
                cv=3, repeats=2, probes=("linear",))
    ids = ds.subjects.sample_id.tolist()
    conf = subjects["age"].to_numpy()
    n_checked = 0
    for (rep, probe_name, repeat, fold), fitted in res.models.items():
        if rep == "chance":
            continue
        train, sel = _train_rows(res, rep, probe_name, repeat, fold, ids)
        assert len(train) + len(sel) == 36
        scaler = fitted["estimator"].best_estimator_.named_steps["scaler"]
        dec = fitted["deconfounder"]
        assert dec.confound_mean_ == pytest.approx([conf[train].mean()])
        if rep == "tangent":
            ts = fitted["transformer"]
            assert ts.n_fit_ == len(train)
            expected = geometric_mean(torch.as_tensor(cov[train])).numpy()
            np.testing.assert_allclose(ts.reference_, expected, rtol=1e-6)
            with_test = geometric_mean(torch.as_tensor(cov)).numpy()
            assert not np.allclose(ts.reference_, with_test, rtol=1e-2)
            n_checked += 1
        if rep == "encoder":
            x_train = dec.transform(raw[train], conf[train, None])
            np.testing.assert_allclose(scaler.mean_, x_train.mean(axis=0), atol=1e-6)
            n_checked += 1
    assert n_checked == 12


def test_grouped_rows_never_straddle(tmp_path):
    ds = simulate(tmp_path / "runs.ds", n_subjects=15, runs=3, effect=1.0, seed=4)
    res = probe(ds, label="group", cv=3, repeats=2, probes=("linear", "knn"))
    assert res.info["n_groups"] == 15 and res.info["n_samples"] == 45
    subj = dict(zip(ds.subjects.sample_id, ds.subjects.subject_id, strict=True))
    for _key, sel in res.predictions.groupby(
            ["representation", "probe", "repeat", "fold"]):
        test_subjects = {subj[s] for s in sel.sample_id}
        train_subjects = {subj[s] for s in subj if s not in set(sel.sample_id)}
        assert not test_subjects & train_subjects
        # whole persons: 3 rows each
        assert len(sel) == 3 * len(test_subjects)


def test_regression_task_and_permutations(tmp_path):
    ds = simulate(tmp_path / "sim.ds", n_subjects=40, effect=1.5, seed=6)
    res = probe(ds, label="score", cv=4, repeats=1, probes=("linear",), permutations=4,
                baselines=("raw-fc", "chance"))
    assert res.info["task"] == "regression"
    s = res.summary.set_index("representation")
    assert {"r2_mean", "mae_mean", "pearson_r_mean", "p_permutation"} <= set(s.columns)
    assert s.loc["raw-fc", "pearson_r_mean"] > 0.5
    assert s.loc["raw-fc", "p_permutation"] == pytest.approx(1 / 5)  # the smallest possible
    assert np.isnan(s.loc["chance", "p_permutation"])
    null = res.null_scores[("raw-fc", "linear")]
    assert null.shape == (4,) and (null < s.loc["raw-fc", "r2_mean"]).all()


def test_deconfounding_removes_a_confound_driven_effect(tmp_path):
    ds = simulate(tmp_path / "sim.ds", n_subjects=60, seed=7)
    rng = np.random.default_rng(8)
    y = ds.subjects["group"].eq("case").to_numpy()
    conf = y * 1.0 + rng.normal(0, 0.4, len(y))
    emb = np.outer(conf, rng.standard_normal(12)) + 0.05 * rng.standard_normal((len(y), 12))
    subjects = ds.subjects.assign(site_effect=conf)
    from neurocl.data.dataset import write_dataset

    ds = write_dataset(tmp_path / "c.ds", fc=np.asarray(ds.fc), subjects=subjects,
                       nodes=ds.nodes, meta=ds.meta, covariance=np.asarray(ds.covariance))
    plain = probe(ds, label="group", embeddings=emb, baselines=(), **FAST)
    deconf = probe(ds, label="group", embeddings=emb, baselines=(),
                   deconfound=["site_effect"], **FAST)
    assert plain.summary.balanced_accuracy_mean.iloc[0] > 0.8
    assert abs(deconf.summary.balanced_accuracy_mean.iloc[0] - 0.5) < 0.15
    with pytest.raises(ParameterError, match="cannot also be a confound"):
        probe(ds, label="group", embeddings=emb, deconfound=["group"], **FAST)


def test_nan_labels_are_dropped_with_a_count(tmp_path):
    n = 30
    values = np.where(np.arange(n) % 5 == 0, np.nan, np.arange(n) % 2)
    ds = simulate(tmp_path / "sim.ds", n_subjects=n, effect=1.0, extra={"dx": values}, seed=9)
    res = probe(ds, label="dx", baselines=("raw-fc",), **FAST)
    assert res.info["n_dropped"] == 6 and res.info["n_samples"] == 24
    assert "6 rows without a 'dx' value were dropped" in res.info["notes"][0]
    assert res.predictions.groupby("repeat").size().tolist() == [24, 24]
    few = np.full(n, np.nan)
    few[:3] = [0, 1, 0]
    ds2 = simulate(tmp_path / "few.ds", n_subjects=n, extra={"dx": few}, seed=9)
    with pytest.raises(ParameterError, match="only 3 non-missing values \\(27 missing"):
        probe(ds2, label="dx", **FAST)


def test_bad_input_errors(tmp_path):
    ds = simulate(tmp_path / "sim.ds", n_subjects=20, seed=10,
                  extra={"rare": ["a"] * 18 + ["b"] * 2})
    with pytest.raises(ParameterError, match="'nope' is not in the subjects table; its "
                                             "columns are run, group, score, age, sex"):
        probe(ds, label="nope")
    with pytest.raises(ParameterError, match="class 'b' has only 2 distinct"):
        probe(ds, label="rare", cv=3)
    with pytest.raises(ParameterError, match="unknown probe 'svm'"):
        probe(ds, label="group", probes=("svm",))
    with pytest.raises(ParameterError, match="unknown baseline"):
        probe(ds, label="group", baselines=("pca",))
    with pytest.raises(ParameterError, match="embeddings must have shape"):
        probe(ds, label="group", embeddings=np.zeros((5, 3)))


def test_external_validation(tmp_path):
    train = simulate(tmp_path / "a.ds", n_subjects=40, effect=1.2, seed=11)
    test = simulate(tmp_path / "b.ds", n_subjects=26, effect=1.2, seed=12)
    res = probe(train, label="group", test_dataset=test, probes=("linear",), n_bootstrap=200)
    s = res.summary.set_index("representation")
    assert res.info["scheme"] == "external" and res.info["n_test_samples"] == 26
    assert s.loc["raw-fc", "balanced_accuracy"] > 0.8
    low, high = s.loc["raw-fc", ["balanced_accuracy_ci_low", "balanced_accuracy_ci_high"]]
    assert low <= s.loc["raw-fc", "balanced_accuracy"] <= high and low < high
    assert (s["n_folds"] == 1).all()
    assert len(res.predictions[res.predictions.representation == "raw-fc"]) == 26
    assert res.comparison.test.iloc[0] == "paired bootstrap"
    other = simulate(tmp_path / "c.ds", n_subjects=20, seed=13,
                     node_names=[f"roi{i}" for i in range(7)])
    with pytest.raises(DatasetError, match="other nodes than the training dataset"):
        probe(train, label="group", test_dataset=other)
    kind = simulate(tmp_path / "d.ds", n_subjects=20, seed=13, kind_meta={"kind": "covariance"})
    with pytest.raises(DatasetError, match="kind 'covariance' but the training dataset has "
                                           "'correlation'"):
        probe(train, label="group", test_dataset=kind)


class _FakeRun:
    """Duck-typed stand-in for neurocl.train.run.Run (embeds with fixed random weights)."""

    def __init__(self, atlas_ok=True):
        self.atlas_ok = atlas_ok
        self.calls = []

    def check_compatible(self, dataset):
        if not self.atlas_ok:
            raise CheckpointError("the run was trained on atlas 'aal' but the dataset has "
                                  "'sim'; use a dataset built the same way")

    def embed(self, dataset, *, untrained=False, device="cpu"):
        self.calls.append(untrained)
        rng = np.random.default_rng(1 if untrained else 0)
        w = rng.standard_normal((dataset.n_nodes ** 2, 5))
        return np.asarray(dataset.fc, dtype=np.float64).reshape(dataset.n_samples, -1) @ w


def test_api_with_a_run_and_with_an_embeddings_file(tmp_path):
    from neurocl import api

    ds = simulate(tmp_path / "sim.ds", n_subjects=30, effect=1.0, seed=14)
    run = _FakeRun()
    one = {**FAST, "repeats": 1}
    res = api.probe(run, ds, label="group", **one)
    assert run.calls == [False, True]
    assert list(res.summary.representation) == ["encoder", "raw-fc", "tangent", "untrained",
                                                "chance"]
    assert [tuple(x) for x in res.comparison[["a", "b"]].values] == [
        ("encoder", "raw-fc"), ("encoder", "tangent"), ("encoder", "untrained")]
    with pytest.raises(CheckpointError, match="atlas"):
        api.probe(_FakeRun(atlas_ok=False), ds, label="group", **one)
    emb = run.embed(ds)
    table = pd.DataFrame(emb, columns=[f"emb_{i}" for i in range(5)])
    table.insert(0, "sample_id", ds.subjects.sample_id)
    table.sample(frac=1.0, random_state=0).to_csv(tmp_path / "emb.csv", index=False)
    res2 = api.probe(tmp_path / "emb.csv", ds, label="group", out=tmp_path / "t.csv",
                     predictions=tmp_path / "p.csv", baselines=("chance",), **one)
    enc = res.summary.set_index("representation").loc["encoder", "balanced_accuracy_mean"]
    assert res2.summary.set_index("representation").loc[
        "encoder", "balanced_accuracy_mean"] == pytest.approx(enc)
    assert pd.read_csv(tmp_path / "t.csv").representation.tolist() == ["encoder", "chance"]
    assert len(pd.read_csv(tmp_path / "p.csv")) == 2 * 30
    with pytest.raises(ParameterError, match="already exists"):
        api.probe(None, ds, label="group", out=tmp_path / "t.csv", **one)


def test_single_person_is_split_by_run(tmp_path):
    from neurocl.data.dataset import write_dataset

    ds = simulate(tmp_path / "sim.ds", n_subjects=45, effect=1.5, seed=15)
    subjects = ds.subjects.assign(subject_id="S001",
                                  run=np.repeat(["R04", "R08", "R12"], 15))
    one = write_dataset(tmp_path / "one.ds", fc=np.asarray(ds.fc), subjects=subjects,
                        nodes=ds.nodes, meta=ds.meta, covariance=np.asarray(ds.covariance))
    res = probe(one, label="group", probes=("linear",), baselines=("raw-fc", "chance"))
    assert res.info["scheme"] == "a single subject_id: leave-one-run-out"
    assert res.info["n_folds"] == 3 and res.info["repeats"] == 1
    for _key, sel in res.predictions.groupby(["representation", "fold"]):
        assert sel.sample_id.map(dict(zip(subjects.sample_id, subjects.run,
                                          strict=True))).nunique() == 1
    s = res.summary.set_index("representation")
    assert s.loc["raw-fc", "balanced_accuracy_mean"] > 0.8


@pytest.mark.slow
def test_parallel_folds_give_the_same_table(tmp_path):
    ds = simulate(tmp_path / "sim.ds", n_subjects=24, effect=1.0, seed=16)
    one = probe(ds, label="group", **FAST)
    two = probe(ds, label="group", n_jobs=2, **FAST)
    pd.testing.assert_frame_equal(one.summary, two.summary)
    pd.testing.assert_frame_equal(one.predictions, two.predictions)
