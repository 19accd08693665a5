"""Unit tests of neurocl.evaluate: labels, splits, statistics, features, embeddings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier

from neurocl._core.errors import InputFileError, ParameterError
from neurocl.connectivity.static import geometric_mean
from neurocl.evaluate import (
    Deconfounder,
    TangentSpace,
    align_embeddings,
    corrected_resampled_ttest,
    detect_task,
    make_folds,
    permutation_pvalue,
    permute_labels,
    prepare_target,
    raw_fc_features,
    resolve_grouping,
    score,
)
from neurocl.evaluate._rowspace import RowSpace


# ----------------------------------------------------------------------------- task detection
@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["child", "adult", "child"], "classification"),
        ([0, 1, 1, 0], "classification"),
        ([1.0, 2.0, 3.0, 1.0], "classification"),
        ([True, False, True], "classification"),
        ([3.5, 4.2, 7.9, 10.1, 5.5, 6.6], "regression"),
        (list(range(3, 13)), "regression"),  # integer ages: 10 values -> regression
    ],
)
def test_detect_task(values, task):
    assert detect_task(pd.Series(values))[0] == task


def test_prepare_target_drops_missing_and_encodes():
    subjects = pd.DataFrame({"sample_id": list("abcdefg"), "subject_id": list("abcdefg"),
                             "dx": ["pat", "ctl", None, "pat", "ctl", "", "pat"]})
    t = prepare_target(subjects, "dx")
    assert t.task == "classification" and t.classes == ["ctl", "pat"]
    assert t.n_dropped == 2
    assert t.keep.tolist() == [True, True, False, True, True, False, True]
    assert t.y.tolist() == [1, 0, 1, 0, 1]


def test_prepare_target_override_and_errors():
    subjects = pd.DataFrame({"sample_id": list("abcdef"), "subject_id": list("abcdef"),
                             "y": [1, 2, 1, 2, 1, 2], "one": ["x"] * 6,
                             "few": [1.0, np.nan, np.nan, np.nan, np.nan, 2.0]})
    assert prepare_target(subjects, "y", "regression").task == "regression"
    with pytest.raises(ParameterError, match="'nope' is not in the subjects table.*y, one"):
        prepare_target(subjects, "nope")
    with pytest.raises(ParameterError, match="single class"):
        prepare_target(subjects, "one")
    with pytest.raises(ParameterError, match="only 2 non-missing values \\(4 missing"):
        prepare_target(subjects, "few")
    with pytest.raises(ParameterError, match="not numeric"):
        prepare_target(subjects, "one", "regression")
    with pytest.raises(ParameterError, match="task must be one of"):
        prepare_target(subjects, "y", "clustering")


# ----------------------------------------------------------------------------- splits
def _subjects(n_subj=13, per=3, seed=0):
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 2, n_subj)
    lab[:4] = [0, 0, 1, 1]
    rows = [{"sample_id": f"{s}_{r}", "subject_id": f"S{s}", "run": f"r{r}", "y": lab[s]}
            for s in range(n_subj) for r in range(per)]
    return pd.DataFrame(rows)


def test_grouped_folds_never_split_a_person():
    subjects = _subjects(17, 3)
    y = subjects["y"].to_numpy()
    grouping = resolve_grouping(subjects)
    folds = make_folds(y, grouping, "classification", cv=4, repeats=3, seed=1)
    assert len(folds) == 12
    subj = subjects["subject_id"].to_numpy()
    for f in folds:
        assert not set(subj[f.train]) & set(subj[f.test])
        assert len(f.train) + len(f.test) == len(subjects)
    # every row is tested once per repeat
    for r in range(3):
        tested = np.concatenate([f.test for f in folds if f.repeat == r])
        assert sorted(tested) == list(range(len(subjects)))
    # repeats differ
    assert not np.array_equal(folds[0].test, folds[4].test)


def test_single_person_falls_back_to_leave_one_run_out():
    subjects = pd.DataFrame({"sample_id": [f"e{i}" for i in range(30)], "subject_id": "S001",
                             "run": np.repeat(["R04", "R08", "R12"], 10),
                             "y": np.tile([0, 1], 15)})
    grouping = resolve_grouping(subjects)
    assert grouping.scheme == "leave-one-group-out" and grouping.column == "run"
    folds = make_folds(subjects["y"].to_numpy(), grouping, "classification", cv=5)
    assert len(folds) == 3
    for f in folds:
        assert len(set(subjects["run"].to_numpy()[f.test])) == 1
    assert resolve_grouping(subjects, "run").reason == "leave-one-run-out"


def test_leave_site_out_and_errors():
    subjects = _subjects(12, 1)
    subjects["site"] = np.repeat(["A", "B", "C"], 4)
    grouping = resolve_grouping(subjects, site="site")
    folds = make_folds(subjects["y"].to_numpy(), grouping, "classification")
    assert len(folds) == 3
    assert {tuple(sorted(set(subjects["site"][f.test]))) for f in folds} == {("A",), ("B",),
                                                                           ("C",)}
    bad = subjects.copy()
    bad.loc[0, "subject_id"] = bad.loc[5, "subject_id"]  # one person at two sites
    with pytest.raises(ParameterError, match="several sites"):
        resolve_grouping(bad, site="site")
    with pytest.raises(ParameterError, match="'nosuch' is not in the subjects table"):
        resolve_grouping(subjects, "nosuch")
    y = np.array([0] * 10 + [1] * 2)
    with pytest.raises(ParameterError, match="class '1' has only 2 distinct .* lower --cv to 2"):
        make_folds(y, resolve_grouping(subjects), "classification", cv=5, classes=["0", "1"])
    with pytest.raises(ParameterError, match="only 12 distinct values"):
        make_folds(y, resolve_grouping(subjects), "regression", cv=20)


# ----------------------------------------------------------------------------- statistics
def test_nadeau_bengio_matches_hand_computation():
    a = np.array([0.8, 1.0, 0.9, 0.9])
    b = np.array([0.7, 0.7, 0.7, 0.7])
    res = corrected_resampled_ttest(a, b, n_train=30, n_test=10)
    # by hand: d = (.1, .3, .2, .2), mean .2, s² = .02 / 3, J = 4, n2/n1 = 1/3
    se = np.sqrt((1 / 4 + 1 / 3) * 0.02 / 3)
    assert res["mean_diff"] == pytest.approx(0.2)
    assert res["t"] == pytest.approx(0.2 / se) and res["t"] == pytest.approx(3.2071, abs=1e-4)
    assert res["df"] == 3
    assert res["p"] == pytest.approx(2 * stats.t.sf(0.2 / se, 3))
    half = stats.t.ppf(0.975, 3) * se
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((0.2 - half, 0.2 + half))
    # the uncorrected paired t-test is more liberal
    assert stats.ttest_rel(a, b).pvalue < res["p"]


def test_permutation_pvalue_and_group_permutation():
    assert permutation_pvalue(0.9, np.array([0.5, 0.6, 0.95])) == pytest.approx(2 / 4)
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(10), 3)
    y = np.repeat(np.arange(10) % 2, 3)
    perm = permute_labels(y, groups, rng)
    # one label per person is kept (labels move between persons)
    assert all(len(set(perm[groups == g])) == 1 for g in range(10))
    assert sorted(perm) == sorted(y)
    y_mixed = np.tile([0, 1, 1], 10)  # labels vary within a group: permuted within groups
    perm = permute_labels(y_mixed, groups, rng)
    for g in range(10):
        assert sorted(perm[groups == g]) == sorted(y_mixed[groups == g])


def test_metrics_known_values():
    s = score("classification", np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]),
              np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]]), 2)
    assert s["balanced_accuracy"] == pytest.approx(0.75)
    assert s["accuracy"] == pytest.approx(0.75)
    assert s["roc_auc"] == pytest.approx(1.0)
    r = score("regression", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    assert r["mae"] == pytest.approx(1 / 3)
    assert r["r2"] == pytest.approx(1 - 1 / 2)
    assert r["pearson_r"] == pytest.approx(np.corrcoef([1, 2, 3], [1, 2, 4])[0, 1])


# ----------------------------------------------------------------------------- features
def test_raw_fc_features_fisher_z():
    rng = np.random.default_rng(0)
    fc = np.tanh(rng.normal(0, 0.3, (3, 5, 5)))
    fc = (fc + fc.transpose(0, 2, 1)) / 2
    fc[:, range(5), range(5)] = 1.0
    out = raw_fc_features(fc, "correlation", False)
    iu = np.triu_indices(5, 1)
    assert out.shape == (3, 10)
    np.testing.assert_allclose(out, np.arctanh(fc[:, iu[0], iu[1]]))
    np.testing.assert_allclose(raw_fc_features(fc, "correlation", True), fc[:, iu[0], iu[1]])
    assert raw_fc_features(fc, "covariance", False).shape == (3, 15)


def test_tangent_space_matches_nilearn():
    from nilearn.connectome import ConnectivityMeasure

    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 41, 5))
    cm = ConnectivityMeasure(kind="covariance")
    cov = cm.fit_transform(list(x))
    ts = TangentSpace().fit(cov)
    ref = ConnectivityMeasure(kind="tangent", vectorize=True).fit(list(x))
    np.testing.assert_allclose(ts.reference_, ref.mean_, atol=1e-6)
    np.testing.assert_allclose(ts.transform(cov), ref.transform(list(x)), atol=1e-6)


@pytest.mark.parametrize("model", ["logistic", "ridge", "knn"])
def test_rowspace_changes_no_prediction(model):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((23, 61))
    x_test = rng.standard_normal((9, 61))
    y = (x[:, 0] + 0.5 * rng.standard_normal(23) > 0).astype(int)
    est = {"logistic": LogisticRegression(C=0.3, tol=1e-10, max_iter=10000),
           "ridge": Ridge(alpha=2.0),
           "knn": KNeighborsClassifier(3)}[model]
    rs = RowSpace().fit(x)
    assert rs.components_.shape == (23, 61)
    if model == "logistic":
        full = est.fit(x, y).decision_function(x_test)
        small = est.fit(rs.transform(x), y).decision_function(rs.transform(x_test))
        np.testing.assert_allclose(small, full, atol=1e-5)
    elif model == "ridge":
        full = est.fit(x, x[:, 1]).predict(x_test)
        small = est.fit(rs.transform(x), x[:, 1]).predict(rs.transform(x_test))
        np.testing.assert_allclose(small, full, atol=1e-8)
    else:
        full = est.fit(x, y).kneighbors(x_test, return_distance=False)
        small = est.fit(rs.transform(x), y).kneighbors(rs.transform(x_test),
                                                       return_distance=False)
        np.testing.assert_array_equal(small, full)


def test_deconfounder_fits_training_rows_only():
    rng = np.random.default_rng(3)
    conf = rng.standard_normal((30, 2))
    feats = conf @ np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]]) + 0.01 * rng.standard_normal(
        (30, 3))
    dec = Deconfounder().fit(feats[:20], conf[:20])
    np.testing.assert_allclose(dec.confound_mean_, conf[:20].mean(0))
    resid = dec.transform(feats[20:], conf[20:])
    assert np.abs(resid - feats[:20].mean(0)).max() < 0.1  # confound effect removed


def test_align_embeddings_errors():
    ids = pd.Series(["a", "b", "c"])
    table = pd.DataFrame({"sample_id": ["c", "a", "b"], "emb_0": [3.0, 1.0, 2.0],
                          "emb_1": [0.0, 0.0, 1.0], "age": [1, 2, 3]})
    np.testing.assert_array_equal(align_embeddings(table, ids, "e.csv")[:, 0], [1, 2, 3])
    with pytest.raises(InputFileError, match="do not match the dataset \\(1 dataset samples "
                                             "missing, 1 unknown ids"):
        align_embeddings(table.replace({"c": "z"}), ids, "e.csv")
    with pytest.raises(InputFileError, match="no emb_\\* columns"):
        align_embeddings(table[["sample_id", "age"]], ids, "e.csv")
    with pytest.raises(InputFileError, match="no 'sample_id' column"):
        align_embeddings(table.drop(columns="sample_id"), ids, "e.csv")
    bad = table.copy()
    bad.loc[0, "emb_0"] = np.nan
    with pytest.raises(InputFileError, match="NaN"):
        align_embeddings(bad, ids, "e.csv")


def test_geometric_mean_is_the_reference():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 30, 4))
    cov = np.einsum("stn,stm->snm", x, x) / 30
    import torch

    np.testing.assert_allclose(TangentSpace().fit(cov).reference_,
                               geometric_mean(torch.as_tensor(cov)).numpy())


@pytest.mark.parametrize("n_classes", [2, 3])
def test_numpy_metrics_equal_sklearn(n_classes):
    from sklearn import metrics as skm

    rng = np.random.default_rng(n_classes)
    y = rng.integers(0, n_classes, 57)
    pred = np.where(rng.random(57) < 0.6, y, rng.integers(0, n_classes, 57))
    proba = rng.dirichlet(np.ones(n_classes), 57)
    proba[:5] = proba[5]  # ties
    s = score("classification", y, pred, proba, n_classes)
    assert s["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert s["f1_macro"] == pytest.approx(skm.f1_score(
        y, pred, labels=range(n_classes), average="macro", zero_division=0))
    auc = (skm.roc_auc_score(y, proba[:, 1]) if n_classes == 2
           else skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert s["roc_auc"] == pytest.approx(auc)
    t, p = rng.standard_normal(31), rng.standard_normal(31)
    r = score("regression", t, p)
    assert r["r2"] == pytest.approx(skm.r2_score(t, p))
    assert r["mae"] == pytest.approx(skm.mean_absolute_error(t, p))
    assert r["pearson_r"] == pytest.approx(stats.pearsonr(t, p)[0])
