"""The probe table: every representation, every probe, the same folds, honest statistics.

:func:`probe` compares a frozen encoder's embeddings with baselines computed on the same
outer folds (raw FC, tangent-space FC with its reference fitted inside each training fold,
the untrained encoder, chance). Everything fitted on data - tangent reference, deconfounding
regression, scaler, hyperparameters - sees the training fold only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from neurocl._core.errors import DatasetError, ParameterError
from neurocl._core.progress import no_progress
from neurocl._core.registry import normalize_name
from neurocl.evaluate.baselines import TangentSpace, prepare_covariances, raw_fc_features
from neurocl.evaluate.deconfound import Deconfounder, confound_matrix
from neurocl.evaluate.labels import Target, prepare_target
from neurocl.evaluate.metrics import PRIMARY, metric_names, score
from neurocl.evaluate.probes import PROBES, make_probe
from neurocl.evaluate.splits import Fold, make_folds, resolve_grouping
from neurocl.evaluate.stats import (
    bootstrap_indices,
    corrected_resampled_ttest,
    percentile_interval,
    permutation_pvalue,
    permute_labels,
)

#: table rows in this order
REPRESENTATIONS = ("encoder", "raw-fc", "tangent", "untrained", "chance")
BASELINES = ("raw-fc", "tangent", "chance")


# --------------------------------------------------------------------------- features
class FixedFeatures:
    """Features that need no fitting (embeddings, raw FC).

    Parameters
    ----------
    x : ndarray of shape (n_rows, n_features)
        Rows of the training source (the labelled rows of the dataset).
    x_test : ndarray of shape (n_test_rows, n_features), optional
        Rows of an external test dataset; test indices then point into it.
    """

    def __init__(self, x: np.ndarray, x_test: np.ndarray | None = None) -> None:
        self.x = x
        self.x_test = x if x_test is None else x_test

    @property
    def n_features(self) -> int:
        """Feature count."""
        return int(self.x.shape[1])

    def split(self, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        """Return training rows, test rows and the fitted transformer (None)."""
        return self.x[train], self.x_test[test], None


class TangentFeatures:
    """Tangent-space FC whose reference is fitted on the training rows of each fold.

    Parameters
    ----------
    cov : ndarray of shape (n_rows, n_nodes, n_nodes)
        Covariances of the training source.
    cov_test : ndarray, optional
        Covariances of an external test dataset.
    """

    def __init__(self, cov: np.ndarray, cov_test: np.ndarray | None = None) -> None:
        self.cov = cov
        self.cov_test = cov if cov_test is None else cov_test

    @property
    def n_features(self) -> int:
        """Feature count (upper triangle with the diagonal)."""
        n = self.cov.shape[-1]
        return n * (n + 1) // 2

    def split(
        self, train: np.ndarray, test: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, TangentSpace]:
        """Fit the reference on the training rows, project both sides."""
        ts = TangentSpace().fit(self.cov[train])
        return ts.transform(self.cov[train]), ts.transform(self.cov_test[test]), ts


class ConstantFeatures:
    """A single constant feature (the chance row ignores its input)."""

    def __init__(self, n_rows: int, n_test_rows: int | None = None) -> None:
        self.x = np.zeros((n_rows, 1))
        self.x_test = self.x if n_test_rows is None else np.zeros((n_test_rows, 1))
        self.n_features = 0

    def split(self, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        """Return constant training and test rows."""
        return self.x[train], self.x_test[test], None


# --------------------------------------------------------------------------- result
@dataclass
class ProbeResult:
    """What :func:`probe` returns.

    Attributes
    ----------
    summary : DataFrame
        One row per representation and probe: ``representation``, ``probe``,
        ``n_features``, ``<metric>_mean`` and ``<metric>_sd`` over folds x repeats,
        ``n_folds``; with an external test set ``<metric>`` with ``<metric>_ci_low`` /
        ``<metric>_ci_high`` (bootstrap over test persons) instead; ``p_permutation`` when
        permutations were run.
    fold_scores : DataFrame
        One row per representation, probe, repeat and fold with every metric,
        ``n_train``, ``n_test`` and the chosen hyperparameter.
    predictions : DataFrame
        One row per representation, probe, repeat, fold and test sample: ``sample_id``,
        ``subject_id``, ``y_true``, ``y_pred`` and ``proba_<class>`` (classification).
    comparison : DataFrame
        Paired comparisons (``a`` minus ``b`` on the primary metric, same folds): the
        corrected resampled t-test over folds, or a paired bootstrap on an external test set.
    info : dict
        Task, label, classes, counts, split scheme, seed and notes.
    models : dict
        With ``keep_models=True``: ``(representation, probe, repeat, fold)`` ->
        ``{"transformer": ..., "deconfounder": ..., "estimator": ...}``.
    null_scores : dict
        With permutations: ``(representation, probe)`` -> ndarray of shape
        (n_permutations,), the primary metric (mean over folds) with permuted labels.
    """

    summary: pd.DataFrame
    fold_scores: pd.DataFrame
    predictions: pd.DataFrame
    comparison: pd.DataFrame
    info: dict[str, Any]
    models: dict[tuple[str, str, int, int], dict[str, Any]] = field(default_factory=dict)
    null_scores: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: ``info``, ``summary`` and ``comparison`` as records."""
        return {
            "info": self.info,
            "summary": _records(self.summary),
            "comparison": _records(self.comparison),
        }

    def __repr__(self) -> str:
        return (
            f"ProbeResult(label={self.info.get('label')!r}, task={self.info.get('task')!r}, "
            f"rows={len(self.summary)}, folds={self.info.get('n_folds')})"
        )


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and not np.isfinite(v) else
                        (v.item() if isinstance(v, np.generic) else v))
                    for k, v in rec.items()})
    return out


# --------------------------------------------------------------------------- fold work
@dataclass
class _Problem:
    task: str
    classes: list[str]
    y: np.ndarray
    y_test: np.ndarray
    groups: np.ndarray
    confounds: np.ndarray | None
    confounds_test: np.ndarray | None
    permuted: list[np.ndarray]
    permuted_test: list[np.ndarray]


def _fit_predict(est: Any, x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, task: str,
                 n_classes: int) -> tuple[np.ndarray, np.ndarray | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        est.fit(x_tr, y_tr)
    pred = est.predict(x_te)
    proba = None
    if task == "classification" and hasattr(est, "predict_proba"):
        p = est.predict_proba(x_te)
        proba = np.zeros((len(x_te), n_classes))
        proba[:, np.asarray(est.classes_, dtype=int)] = p
    return pred, proba


def _chosen(est: Any) -> str:
    params = getattr(est, "best_params_", None)
    if not params:
        return ""
    return ", ".join(f"{k.split('__')[-1]}={v:.3g}" if isinstance(v, float)
                     else f"{k.split('__')[-1]}={v}" for k, v in params.items())


@contextmanager
def _single_threaded() -> Iterator[None]:
    """Run BLAS, OpenMP and torch on one thread (folds are the unit of parallelism)."""
    import torch

    n_torch = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(n_torch)


def _run_fold(name: str, features: Any, probes: Sequence[str], fold: Fold, prob: _Problem,
              seed: int, keep_models: bool) -> dict[str, Any]:
    with _single_threaded():
        return _run_fold_inner(name, features, probes, fold, prob, seed, keep_models)


def _run_fold_inner(name: str, features: Any, probes: Sequence[str], fold: Fold,
                    prob: _Problem, seed: int, keep_models: bool) -> dict[str, Any]:
    train, test = fold.train, fold.test
    x_tr, x_te, transformer = features.split(train, test)
    deconf = None
    if prob.confounds is not None and features.n_features:
        c_tr, c_te = prob.confounds[train], prob.confounds_test[test]
        deconf = Deconfounder().fit(x_tr, c_tr)
        x_tr, x_te = deconf.transform(x_tr, c_tr), deconf.transform(x_te, c_te)
    n_classes = len(prob.classes)
    fold_seed = seed + 1000 * fold.repeat + fold.fold
    y_tr, y_te = prob.y[train], prob.y_test[test]
    out: dict[str, Any] = {"scores": [], "predictions": [], "null": {}, "models": {}}
    for probe_name in probes:
        est = make_probe(probe_name, prob.task, y_tr, prob.groups[train], fold_seed)
        pred, proba = _fit_predict(est, x_tr, y_tr, x_te, prob.task, n_classes)
        scores = score(prob.task, y_te, pred, proba, n_classes)
        out["scores"].append({
            "representation": name, "probe": probe_name, "repeat": fold.repeat,
            "fold": fold.fold, "n_train": len(train), "n_test": len(test),
            **scores, "chosen": _chosen(est),
        })
        out["predictions"].append((probe_name, pred, proba))
        if keep_models:
            out["models"][(name, probe_name, fold.repeat, fold.fold)] = {
                "transformer": transformer, "deconfounder": deconf, "estimator": est,
            }
        if probe_name != "dummy" and prob.permuted:
            null = []
            primary = PRIMARY[prob.task]
            for y_perm, y_perm_test in zip(prob.permuted, prob.permuted_test, strict=True):
                est_p = make_probe(probe_name, prob.task, y_perm[train], prob.groups[train],
                                   fold_seed)
                pred_p, proba_p = _fit_predict(est_p, x_tr, y_perm[train], x_te, prob.task,
                                               n_classes)
                null.append(score(prob.task, y_perm_test[test], pred_p, proba_p,
                                  n_classes)[primary])
            out["null"][probe_name] = np.asarray(null)
    return out


# --------------------------------------------------------------------------- main entry
def probe(
    dataset: Any,
    *,
    label: str,
    embeddings: np.ndarray | None = None,
    untrained: np.ndarray | None = None,
    test_dataset: Any | None = None,
    test_embeddings: np.ndarray | None = None,
    test_untrained: np.ndarray | None = None,
    task: str = "auto",
    cv: int = 5,
    repeats: int = 5,
    group: str = "subject_id",
    site: str | None = None,
    baselines: Sequence[str] = BASELINES,
    probes: Sequence[str] = ("linear", "knn"),
    permutations: int = 0,
    deconfound: Sequence[str] = (),
    seed: int = 0,
    band: str | None = None,
    tangent_covariance: str = "ledoit-wolf",
    n_bootstrap: int = 1000,
    n_jobs: int = 1,
    keep_models: bool = False,
    progress: Callable[..., None] | None = None,
) -> ProbeResult:
    """Probe frozen representations of a dataset against baselines on the same folds.

    Parameters
    ----------
    dataset : FCDataset
        The dataset (``neurocl.load_dataset``).
    label : str
        The label column of ``dataset.subjects``. Rows with a missing label are dropped and
        counted in ``info["n_dropped"]``.
    embeddings : ndarray of shape (n_samples, n_dims), optional
        The encoder's embeddings of every dataset row (row order of ``dataset.subjects``).
        Without them only the baselines are probed.
    untrained : ndarray of shape (n_samples, n_dims), optional
        Embeddings of the same encoder untrained (same architecture and seed).
    test_dataset : FCDataset, optional
        External validation: every probe and the tangent reference are fitted on all of
        ``dataset`` and scored once on ``test_dataset`` (same atlas, node names and FC kind),
        with bootstrap confidence intervals over its persons.
    test_embeddings, test_untrained : ndarray, optional
        The same embeddings for ``test_dataset`` (needed when ``embeddings`` /
        ``untrained`` are given with a test dataset).
    task : {"auto", "classification", "regression"}
        The task; ``auto`` detects it from the label values.
    cv : int
        Outer folds.
    repeats : int
        Repetitions of the outer cross-validation with seeds ``seed, seed + 1, ...``.
    group : str
        Column whose values never straddle train and test (default the person). ``run``
        gives leave-one-run-out; a dataset of a single person falls back to it.
    site : str, optional
        Site column: leave-site-out folds.
    baselines : sequence of str
        Which of ``raw-fc``, ``tangent``, ``chance`` to include.
    probes : sequence of str
        Probes fitted on every representation (``linear``, ``knn``).
    permutations : int
        Label permutations for a p-value per row (0: none). Each permutation repeats the
        whole cross-validation, so the cost grows linearly.
    deconfound : sequence of str
        Columns regressed out of the features inside each training fold.
    seed : int
        Seed of folds, inner folds, permutations and bootstrap.
    band : str, optional
        EEG: the band whose FC is the raw-FC baseline.
    tangent_covariance : {"ledoit-wolf", "stored"}
        Covariances of the tangent baseline: Ledoit-Wolf (recomputed from the stored signals
        unless the stored covariances are Ledoit-Wolf already) or the stored ones (see
        :func:`neurocl.evaluate.baselines.prepare_covariances`).
    n_bootstrap : int
        Bootstrap resamples for external-validation intervals.
    n_jobs : int
        Folds run in parallel with joblib.
    keep_models : bool
        Keep every fitted transformer, deconfounder and probe in ``result.models``.
    progress : callable, optional
        ``progress(stage, done, total)``.

    Returns
    -------
    ProbeResult

    Raises
    ------
    ParameterError
        Bad label, task, grouping, folds, probes, baselines or confounds.
    DatasetError
        A test dataset built differently.

    Examples
    --------
    >>> from neurocl import load_dataset  # doctest: +SKIP
    >>> res = probe(load_dataset("dev_aal.ds"), label="child_adult")  # doctest: +SKIP
    >>> res.summary[["representation", "probe", "balanced_accuracy_mean"]]  # doctest: +SKIP
    """
    progress = progress or no_progress
    baselines = [normalize_name(b) for b in baselines]
    for b in baselines:
        if b not in BASELINES:
            raise ParameterError(
                f"unknown baseline {b!r}; valid baselines: {', '.join(BASELINES)}"
            )
    probes = [PROBES.resolve(p) for p in probes]
    probes = list(dict.fromkeys(p for p in probes if p != "dummy"))
    if not probes:
        raise ParameterError("probes must name at least one of linear, knn")
    if permutations < 0:
        raise ParameterError(f"permutations must be >= 0; got {permutations}")
    if embeddings is None and untrained is None and not baselines:
        raise ParameterError("nothing to probe: give embeddings or keep some baselines")
    n_rows = dataset.n_samples
    for name, arr in (("embeddings", embeddings), ("untrained", untrained)):
        if arr is not None and (arr.ndim != 2 or len(arr) != n_rows):
            raise ParameterError(
                f"{name} must have shape (n_samples={n_rows}, n_dims); got {arr.shape}"
            )

    target = prepare_target(dataset.subjects, label, task, min_samples=max(2 * cv, 4))
    keep = target.keep
    subjects = dataset.subjects.loc[keep].reset_index(drop=True)
    notes: list[str] = []
    if target.n_dropped:
        notes.append(f"{target.n_dropped} rows without a {label!r} value were dropped")
    external = test_dataset is not None
    rng = np.random.default_rng(seed)

    if external:
        if site is not None:
            raise ParameterError(
                "site (leave-site-out) and an external test dataset exclude each other; "
                "drop one of --site and --test"
            )
        _check_same_layout(dataset, test_dataset)
        test_target = _encode_test_target(target, test_dataset.subjects, label)
        keep_test = test_target.keep
        test_subjects = test_dataset.subjects.loc[keep_test].reset_index(drop=True)
        if test_target.n_dropped:
            notes.append(
                f"{test_target.n_dropped} test rows without a {label!r} value were dropped"
            )
        shared = set(subjects["subject_id"].astype(str)) & set(
            test_subjects["subject_id"].astype(str))
        if shared:
            notes.append(f"warning: {len(shared)} subject_id values appear in both datasets")
        grouping = resolve_grouping(subjects, group, None)
        folds = [Fold(0, 0, np.arange(len(subjects)), np.arange(len(test_subjects)))]
        y_test = test_target.y
        test_groups = test_subjects[group if group in test_subjects else "subject_id"]
        test_groups = test_groups.astype(str).to_numpy()
        scheme = "external"
    else:
        grouping = resolve_grouping(subjects, group, site)
        folds = make_folds(target.y, grouping, target.task, cv=cv, repeats=repeats, seed=seed,
                           classes=target.classes)
        y_test = target.y
        test_subjects = subjects
        test_groups = grouping.groups
        scheme = grouping.reason

    # ---- representations, restricted to labelled rows
    reps: dict[str, Any] = {}
    keep_t = keep_test if external else None

    def rows(arr: np.ndarray | None, k: np.ndarray | None) -> np.ndarray | None:
        return None if arr is None or k is None else np.asarray(arr, dtype=np.float64)[k]

    if embeddings is not None:
        if external and test_embeddings is None:
            raise ParameterError(
                "external validation with embeddings needs the test dataset's embeddings too "
                "(test_embeddings / --test-embeddings), or a run folder"
            )
        reps["encoder"] = FixedFeatures(rows(embeddings, keep), rows(test_embeddings, keep_t))
    if "raw-fc" in baselines:
        reps["raw-fc"] = FixedFeatures(
            _raw_fc(dataset, band)[keep],
            None if not external else _raw_fc(test_dataset, band)[keep_test],
        )
    if "tangent" in baselines:
        cov, note = prepare_covariances(dataset, tangent_covariance)
        notes.append(note)
        if cov is not None:
            cov_test = None
            if external:
                cov_test, _ = prepare_covariances(test_dataset, tangent_covariance)
                if cov_test is None:
                    raise DatasetError(
                        "stores no covariance, so the tangent baseline cannot be scored on it; "
                        "rebuild it or pass baselines without tangent", test_dataset.path)
                cov_test = cov_test[keep_test]
            reps["tangent"] = TangentFeatures(cov[keep], cov_test)
    if untrained is not None:
        if external and test_untrained is None:
            raise ParameterError("external validation with untrained embeddings needs "
                                 "test_untrained too")
        reps["untrained"] = FixedFeatures(rows(untrained, keep), rows(test_untrained, keep_t))
    if "chance" in baselines:
        reps["chance"] = ConstantFeatures(len(subjects), len(test_subjects) if external else None)

    confounds = confounds_test = None
    if deconfound:
        if external:
            both = pd.concat([subjects, test_subjects], ignore_index=True)
            mat = confound_matrix(both, list(deconfound), label)
            confounds, confounds_test = mat[: len(subjects)], mat[len(subjects):]
        else:
            confounds = confounds_test = confound_matrix(subjects, list(deconfound), label)
        notes.append(f"deconfounded inside training folds: {', '.join(deconfound)}")

    permuted, permuted_test = [], []
    for _ in range(permutations):
        perm = permute_labels(target.y, grouping.groups, rng)
        permuted.append(perm)
        permuted_test.append(y_test if external else perm)
    prob = _Problem(target.task, target.classes, target.y, y_test, grouping.groups, confounds,
                    confounds_test, permuted, permuted_test)

    # ---- run every (representation, fold)
    jobs = [(name, f) for name in reps for f in folds]
    total = len(jobs)
    progress("probe", 0, total)
    results: list[dict[str, Any]] = []
    if n_jobs == 1:
        for i, (name, f) in enumerate(jobs):
            plist = ["dummy"] if name == "chance" else probes
            results.append(_run_fold(name, reps[name], plist, f, prob, seed, keep_models))
            progress("probe", i + 1, total)
    else:
        par = Parallel(n_jobs=n_jobs, return_as="generator")
        gen = par(delayed(_run_fold)(name, reps[name], ["dummy"] if name == "chance" else probes,
                                     f, prob, seed, keep_models) for name, f in jobs)
        for i, res in enumerate(gen):
            results.append(res)
            progress("probe", i + 1, total)

    # ---- assemble
    fold_scores = pd.DataFrame([s for r in results for s in r["scores"]])
    pred_frames = []
    for (name, f), res in zip(jobs, results, strict=True):
        for probe_name, pred, proba in res["predictions"]:
            pred_frames.append(_prediction_frame(name, probe_name, f, test_subjects,
                                                 y_test, pred, proba, target))
    predictions = pd.concat(pred_frames, ignore_index=True)
    models = {k: v for r in results for k, v in r["models"].items()}
    order = {n: i for i, n in enumerate(REPRESENTATIONS)}
    metrics = metric_names(target.task)
    primary = PRIMARY[target.task]
    n_boot = n_bootstrap if external else 0
    resamples = bootstrap_indices(test_groups, n_boot, seed) if n_boot else []

    summary_rows = []
    keys = list(dict.fromkeys((s["representation"], s["probe"])
                              for s in fold_scores.to_dict("records")))
    keys.sort(key=lambda k: (order.get(k[0], 99), k[1]))
    null_by_key: dict[tuple[str, str], list[np.ndarray]] = {}
    for (name, _f), res in zip(jobs, results, strict=True):
        for probe_name, null in res["null"].items():
            null_by_key.setdefault((name, probe_name), []).append(null)
    null_scores = {k: np.nanmean(np.stack(v, axis=1), axis=1) for k, v in null_by_key.items()}
    for name, probe_name in keys:
        sel = fold_scores[(fold_scores.representation == name) & (fold_scores.probe == probe_name)]
        row: dict[str, Any] = {"representation": name, "probe": probe_name,
                               "n_features": reps[name].n_features}
        if external:
            preds = predictions[(predictions.representation == name)
                                & (predictions.probe == probe_name)]
            stat = _scores_on(preds, target)
            boot = [stat(idx) for idx in resamples]
            for m in metrics:
                row[m] = float(sel[m].iloc[0])
                low, high = percentile_interval(np.array([b[m] for b in boot]))
                row[f"{m}_ci_low"], row[f"{m}_ci_high"] = low, high
        else:
            for m in metrics:
                row[f"{m}_mean"] = float(np.nanmean(sel[m])) if sel[m].notna().any() else np.nan
                row[f"{m}_sd"] = float(np.nanstd(sel[m], ddof=1)) if sel[m].notna().sum() > 1 \
                    else np.nan
        row["n_folds"] = len(sel)
        if permutations:
            null = null_scores.get((name, probe_name))
            if null is not None:
                observed = float(np.nanmean(sel[primary]))
                row["p_permutation"] = permutation_pvalue(observed, null)
            else:
                row["p_permutation"] = np.nan
        summary_rows.append(row)
    summary = pd.DataFrame(summary_rows)

    comparison = _compare(reps, probes, fold_scores, predictions, primary, target, external,
                          resamples)
    info = {
        "label": label, "task": target.task, "task_rule": target.detected,
        "classes": target.classes, "n_samples": int(len(subjects)),
        "n_groups": int(len(np.unique(grouping.groups))), "n_dropped": target.n_dropped,
        "scheme": scheme, "group": grouping.column, "site": site,
        "cv": cv if grouping.scheme == "group-kfold" and not external else None,
        "repeats": repeats if grouping.scheme == "group-kfold" and not external else 1,
        "n_folds": len(folds), "probes": probes, "representations": list(reps),
        "primary_metric": primary, "permutations": permutations,
        "deconfound": list(deconfound), "seed": seed, "band": band,
        "dataset": str(getattr(dataset, "path", "")),
        "test_dataset": str(getattr(test_dataset, "path", "")) if external else None,
        "n_test_samples": int(len(test_subjects)) if external else None,
        "n_bootstrap": n_boot, "notes": notes,
    }
    if target.task == "classification":
        info["class_counts"] = {c: int((target.y == i).sum())
                                for i, c in enumerate(target.classes)}
    return ProbeResult(summary, fold_scores, predictions, comparison, info, models, null_scores)


def _raw_fc(dataset: Any, band: str | None) -> np.ndarray:
    fc = dataset.band_fc(band)
    return raw_fc_features(fc, dataset.meta.get("kind"), bool(dataset.meta.get("fisher_z")))


def _check_same_layout(a: Any, b: Any) -> None:
    names_a = list(a.nodes["name"].astype(str))
    names_b = list(b.nodes["name"].astype(str))
    if names_a != names_b:
        raise DatasetError(
            f"has other nodes than the training dataset ({len(names_b)} vs {len(names_a)} "
            "nodes, or another order); build both datasets with the same atlas", b.path)
    for key in ("kind", "modality", "atlas"):
        va, vb = a.meta.get(key), b.meta.get(key)
        if va is not None and vb is not None and va != vb:
            raise DatasetError(
                f"has {key} {vb!r} but the training dataset has {va!r}; build both datasets "
                "the same way", b.path)


def _encode_test_target(target: Target, subjects: pd.DataFrame, label: str) -> Target:
    test = prepare_target(subjects, label, target.task, min_samples=2)
    if target.task == "classification":
        unknown = sorted(set(test.classes) - set(target.classes))
        if unknown:
            raise ParameterError(
                f"the test dataset's label {label!r} has classes {unknown} that the training "
                f"dataset lacks (it has {target.classes})")
        mapping = np.array([target.classes.index(c) for c in test.classes])
        test.y = mapping[test.y]
        test.classes = list(target.classes)
    return test


def _prediction_frame(name: str, probe_name: str, fold: Fold, subjects: pd.DataFrame,
                      y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None,
                      target: Target) -> pd.DataFrame:
    test = fold.test
    frame = pd.DataFrame({
        "representation": name, "probe": probe_name, "repeat": fold.repeat, "fold": fold.fold,
        "sample_id": subjects["sample_id"].to_numpy()[test],
        "subject_id": subjects["subject_id"].to_numpy()[test],
    })
    if target.task == "classification":
        classes = np.asarray(target.classes, dtype=object)
        frame["y_true"] = classes[y[test]]
        frame["y_pred"] = classes[np.asarray(pred, dtype=int)]
        if proba is not None:
            for i, c in enumerate(target.classes):
                frame[f"proba_{c}"] = proba[:, i]
    else:
        frame["y_true"] = y[test]
        frame["y_pred"] = np.asarray(pred, dtype=np.float64)
    return frame


def _scores_on(preds: pd.DataFrame, target: Target) -> Callable[[np.ndarray], dict[str, float]]:
    n_classes = len(target.classes)
    if target.task == "classification":
        lookup = {c: i for i, c in enumerate(target.classes)}
        y_true = preds["y_true"].map(lookup).to_numpy()
        y_pred = preds["y_pred"].map(lookup).to_numpy()
        cols = [f"proba_{c}" for c in target.classes]
        proba = preds[cols].to_numpy() if all(c in preds for c in cols) else None
    else:
        y_true = preds["y_true"].to_numpy()
        y_pred = preds["y_pred"].to_numpy()
        proba = None

    def stat(idx: np.ndarray) -> dict[str, float]:
        return score(target.task, y_true[idx], y_pred[idx],
                     None if proba is None else proba[idx], n_classes)

    return stat


def _compare(reps: dict[str, Any], probes: Sequence[str], fold_scores: pd.DataFrame,
             predictions: pd.DataFrame, primary: str, target: Target, external: bool,
             resamples: list[np.ndarray]) -> pd.DataFrame:
    pairs = []
    if "encoder" in reps:
        pairs += [("encoder", b) for b in ("raw-fc", "tangent", "untrained") if b in reps]
    elif "untrained" in reps and "raw-fc" in reps:
        pairs.append(("untrained", "raw-fc"))
    elif "tangent" in reps and "raw-fc" in reps:
        pairs.append(("tangent", "raw-fc"))
    rows = []
    for a, b in pairs:
        for probe_name in probes:
            sa = fold_scores[(fold_scores.representation == a) & (fold_scores.probe == probe_name)]
            sb = fold_scores[(fold_scores.representation == b) & (fold_scores.probe == probe_name)]
            if sa.empty or sb.empty:
                continue
            sa = sa.sort_values(["repeat", "fold"])
            sb = sb.sort_values(["repeat", "fold"])
            row: dict[str, Any] = {"a": a, "b": b, "probe": probe_name, "metric": primary}
            if external:
                pa = predictions[(predictions.representation == a)
                                 & (predictions.probe == probe_name)]
                pb = predictions[(predictions.representation == b)
                                 & (predictions.probe == probe_name)]
                fa, fb = _scores_on(pa, target), _scores_on(pb, target)
                diff = float(sa[primary].iloc[0] - sb[primary].iloc[0])
                boot = np.array([fa(i)[primary] - fb(i)[primary] for i in resamples])
                boot = boot[np.isfinite(boot)]
                if len(boot):
                    low, high = np.quantile(boot, [0.025, 0.975])
                    p = float(min(1.0, 2 * min(np.mean(boot <= 0), np.mean(boot >= 0))))
                else:
                    low = high = p = float("nan")
                row.update({"mean_diff": diff, "ci_low": float(low), "ci_high": float(high),
                            "p": p, "test": "paired bootstrap", "n_folds": 1})
            else:
                res = corrected_resampled_ttest(sa[primary].to_numpy(), sb[primary].to_numpy(),
                                                float(sa["n_train"].mean()),
                                                float(sa["n_test"].mean()))
                row.update({"mean_diff": res["mean_diff"], "ci_low": res["ci_low"],
                            "ci_high": res["ci_high"], "t": res["t"], "df": res["df"],
                            "p": res["p"], "test": "corrected resampled t (Nadeau-Bengio)",
                            "n_folds": res["n_folds"]})
            rows.append(row)
    return pd.DataFrame(rows)
