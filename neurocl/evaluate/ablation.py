"""Network ablation: which functional network carries the information a probe reads.

For every network of the atlas the input is masked and probed again on the same outer folds
as the intact representation:

- ``drop``: the network's FC rows and columns are zeroed before the frozen encoder embeds the
  matrices again; for the raw-FC baseline the network's edges (every edge touching one of its
  nodes) are removed from the features;
- ``keep-only``: everything outside the network's block is zeroed; for the raw-FC baseline
  only the edges inside the network are kept.

The change from the intact score carries a confidence interval over folds x repeats (the
corrected resampled t interval of Nadeau & Bengio, since folds share training data), and a
p-value against ``R`` random node sets of the same size, masked the same way, on the same
folds::

    p = (1 + #{null statistic >= observed statistic}) / (1 + R)

where the statistic is the drop in score (``drop``: intact minus ablated) or the score
itself (``keep-only``), averaged over folds; p-values are then FDR-corrected
(Benjamini-Hochberg) across the networks of a table. The probe's hyperparameter is chosen
by inner cross-validation once per fold on the intact representation and reused for every
ablated and null representation of that fold, so that observed and null scores are computed
the same way (and the null needs no inner CV).

Two strategies remove a network from an encoder's representation:

- ``mask-input`` (the default): the frozen encoder embeds the masked FC;
- ``retrain``: the encoder is pretrained again, from scratch with the run's own options and
  seed, on the masked FC of the dataset, and embeds it. Every ablated network and every null
  set costs one pretraining run, so the default null is smaller (``DEFAULT_NULL_RETRAIN``).

The raw-FC baseline is the same under both: its probe is refitted without the edges.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from neurocl._core.errors import InputFileError, ParameterError
from neurocl._core.progress import no_progress
from neurocl._core.registry import normalize_name
from neurocl._core.validation import check_in
from neurocl.connectivity.static import CORRELATION_KINDS, KINDS, fisher_z, normalize_kind
from neurocl.evaluate._tuning import SCORERS
from neurocl.evaluate.labels import Target, prepare_target
from neurocl.evaluate.metrics import PRIMARY
from neurocl.evaluate.probes import PROBES, make_probe
from neurocl.evaluate.splits import Fold, Grouping, make_folds, resolve_grouping
from neurocl.evaluate.stats import corrected_resampled_ttest
from neurocl.io.networks import NO_NETWORK, canonical_network, read_node_table

MODES = ("drop", "keep-only")
STRATEGIES = ("mask-input", "retrain")
UNASSIGNED = ("group", "drop")
#: random node sets per network size in the null distribution
DEFAULT_NULL = 100
#: the same with strategy retrain (every set is a pretraining run): the smallest p is 0.025
DEFAULT_NULL_RETRAIN = 39
#: short column prefix of each mode
MODE_PREFIX = {"drop": "drop", "keep-only": "keep"}


class Embedder(Protocol):
    """What ablation needs from an encoder: embed a dataset, optionally with other FC."""

    def embed(self, dataset: Any, *, fc: np.ndarray | None = None) -> np.ndarray:  # noqa: D102
        ...


# --------------------------------------------------------------------------- networks
def network_sets(
    nodes: pd.DataFrame,
    networks: str | Path | None = None,
    *,
    unassigned: str = "group",
    name_column: str | None = None,
    network_column: str | None = None,
) -> dict[str, np.ndarray]:
    """Map each functional network to the indices of its nodes.

    Parameters
    ----------
    nodes : DataFrame
        The dataset's node table (``name``, ``network``), in node order.
    networks : str or Path, optional
        A TSV/CSV with a name column and a network column that replaces the dataset's
        networks; every node name of the dataset must appear in it (order free).
    unassigned : {"group", "drop"}
        What to do with nodes without a network (``"None"``): ``group`` makes them a network
        of their own named ``None``; ``drop`` leaves them out of the table (they stay in the
        input but are never ablated as a network).
    name_column, network_column : str, optional
        Column names of ``networks`` when not ``name`` / ``network`` (or a known variant).

    Returns
    -------
    dict of str to ndarray of int
        Networks in order of first appearance; canonical Yeo-7 names where they apply.

    Raises
    ------
    InputFileError
        When the network table misses some of the dataset's nodes.
    ParameterError
        When ``unassigned`` is unknown or no network is left.
    """
    check_in(unassigned, UNASSIGNED, "unassigned")
    names = nodes["name"].astype(str).str.strip().tolist()
    if networks is not None:
        table = read_node_table(networks, name_column=name_column,
                                network_column=network_column)
        lookup = dict(zip(table["name"], table["network"], strict=True))
        missing = [n for n in names if n not in lookup]
        if missing:
            raise InputFileError(
                f"does not cover {len(missing)} of the dataset's {len(names)} nodes (e.g. "
                f"{missing[0]!r}); give one row per node name of the dataset's nodes.tsv",
                networks,
            )
        labels = [lookup[n] for n in names]
    else:
        labels = [canonical_network(v) for v in nodes["network"]]
    out: dict[str, list[int]] = {}
    for i, net in enumerate(labels):
        if net == NO_NETWORK and unassigned == "drop":
            continue
        out.setdefault(net, []).append(i)
    if not out:
        raise ParameterError(
            "no node has a network, so there is nothing to ablate; give a network table "
            "(--networks FILE) or keep unassigned nodes as a group (--unassigned group)"
        )
    return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}


def select_networks(sets: dict[str, np.ndarray], only: Sequence[str] | None,
                    n_nodes: int) -> dict[str, np.ndarray]:
    """Restrict ``sets`` to the networks named in ``only`` and refuse whole-atlas networks.

    Raises
    ------
    ParameterError
        For an unknown network name or a network that holds every node.
    """
    if only:
        chosen: dict[str, np.ndarray] = {}
        for raw in only:
            name = canonical_network(raw)
            if name not in sets:
                raise ParameterError(
                    f"unknown network {raw!r}; the networks are {', '.join(sets)}"
                )
            chosen[name] = sets[name]
        sets = chosen
    for name, idx in sets.items():
        if len(idx) >= n_nodes:
            raise ParameterError(
                f"network {name!r} holds all {n_nodes} nodes, so ablating it leaves nothing to "
                "compare; give a network table that splits the nodes (--networks FILE)"
            )
    return sets


# --------------------------------------------------------------------------- masking
def mask_fc(fc: np.ndarray, nodes: np.ndarray, mode: str) -> np.ndarray:
    """Mask FC matrices around a node set (a copy; the input is unchanged).

    Parameters
    ----------
    fc : ndarray of shape (n_samples, n_nodes, n_nodes)
        FC matrices.
    nodes : ndarray of int
        The node set.
    mode : {"drop", "keep-only"}
        ``drop`` zeroes the set's rows and columns; ``keep-only`` zeroes everything outside
        the set's block.

    Returns
    -------
    ndarray of shape (n_samples, n_nodes, n_nodes), float32
    """
    check_in(mode, MODES, "mode")
    out = np.array(fc, dtype=np.float32, copy=True)
    idx = np.asarray(nodes, dtype=np.int64)
    if mode == "drop":
        out[:, idx, :] = 0
        out[:, :, idx] = 0
        return out
    keep = np.zeros(out.shape[-1], dtype=bool)
    keep[idx] = True
    out[:, ~keep, :] = 0
    out[:, :, ~keep] = 0
    return out


def edge_index(n_nodes: int, diagonal: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every raw-FC feature (the upper triangle, as ``upper_triangle``)."""
    return np.triu_indices(n_nodes, k=0 if diagonal else 1)


def edge_columns(rows: np.ndarray, cols: np.ndarray, nodes: np.ndarray, mode: str,
                 n_nodes: int) -> np.ndarray:
    """Feature columns kept when ``nodes`` are dropped / kept alone.

    Parameters
    ----------
    rows, cols : ndarray of int
        Endpoints of each feature (:func:`edge_index`).
    nodes : ndarray of int
        The node set.
    mode : {"drop", "keep-only"}
        ``drop`` keeps edges with no endpoint in the set; ``keep-only`` keeps edges with
        both endpoints in it.
    n_nodes : int
        Number of nodes.

    Returns
    -------
    ndarray of int
        Indices of the kept features.
    """
    member = np.zeros(n_nodes, dtype=bool)
    member[np.asarray(nodes, dtype=np.int64)] = True
    if mode == "drop":
        return np.flatnonzero(~member[rows] & ~member[cols])
    return np.flatnonzero(member[rows] & member[cols])


def random_node_sets(n_nodes: int, size: int, n_sets: int,
                     rng: np.random.Generator) -> list[np.ndarray]:
    """Draw ``n_sets`` random node sets of ``size`` nodes (uniform, without replacement)."""
    return [np.sort(rng.choice(n_nodes, size, replace=False)) for _ in range(n_sets)]


def fdr_bh(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaNs stay NaN).

    Parameters
    ----------
    pvalues : ndarray of shape (n_tests,)

    Returns
    -------
    ndarray of shape (n_tests,)
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if not len(ok):
        return out
    order = ok[np.argsort(p[ok])]
    m = len(order)
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out[order] = np.minimum(ranked, 1.0)
    return out


# --------------------------------------------------------------------------- shared setup
@dataclass
class ProbeSetup:
    """The labelled rows, target, grouping and outer folds shared by every representation.

    Attributes
    ----------
    target : Target
        The prepared label.
    keep : ndarray of bool, shape (n_samples,)
        Dataset rows with a label.
    grouping : Grouping
        The split grouping.
    folds : list of Fold
        Outer folds (indices into the labelled rows).
    probe : str
        The probe name.
    seed : int
        Seed of inner folds and solvers.
    """

    target: Target
    keep: np.ndarray
    grouping: Grouping
    folds: list[Fold]
    probe: str
    seed: int

    @property
    def primary(self) -> str:
        """The metric that decides (balanced accuracy or R²)."""
        return PRIMARY[self.target.task]

    def fold_seed(self, fold: Fold) -> int:
        """Return the seed of a fold's inner split (as in :func:`neurocl.evaluate.probe`)."""
        return self.seed + 1000 * fold.repeat + fold.fold


def prepare_setup(dataset: Any, *, label: str, task: str = "auto", cv: int = 5,
                  repeats: int = 3, group: str = "subject_id", seed: int = 0,
                  probe: str = "linear") -> ProbeSetup:
    """Prepare target and folds exactly as :func:`neurocl.evaluate.probe` does.

    Raises
    ------
    ParameterError
        Bad label, task, grouping, folds or probe.
    """
    key = PROBES.resolve(probe)
    if key == "dummy":
        raise ParameterError("probe must be linear or knn; the dummy probe reads no features")
    target = prepare_target(dataset.subjects, label, task, min_samples=max(2 * cv, 4))
    subjects = dataset.subjects.loc[target.keep].reset_index(drop=True)
    grouping = resolve_grouping(subjects, group, None)
    folds = make_folds(target.y, grouping, target.task, cv=cv, repeats=repeats, seed=seed,
                       classes=target.classes)
    return ProbeSetup(target, target.keep, grouping, folds, key, seed)


class FoldProbes:
    """The probe of every outer fold, tuned on one representation and reused on others.

    Logistic regressions are solved with the ``newton-cholesky`` solver (the same penalised
    objective as the probe module's ``lbfgs``, reached in a few Newton steps on the
    row-space coordinates), which keeps hundreds of null refits affordable.

    Parameters
    ----------
    setup : ProbeSetup
        Target and folds.

    Attributes
    ----------
    templates_ : list of Pipeline
        Per fold, ``scaler -> rowspace -> model`` with the hyperparameter chosen on the
        intact representation (unfitted).
    fitted_ : list of Pipeline
        Per fold, that pipeline fitted on the intact training rows.
    chosen_ : list of dict
        Per fold, the chosen hyperparameters.
    """

    def __init__(self, setup: ProbeSetup) -> None:
        self.setup = setup

    def fit(self, x: np.ndarray) -> FoldProbes:
        """Tune (inner CV) and fit the probe on the intact features ``x`` of every fold."""
        s = self.setup
        y, groups = s.target.y, s.grouping.groups
        self.templates_: list[Any] = []
        self.fitted_: list[Any] = []
        self.chosen_: list[dict[str, Any]] = []
        for fold in s.folds:
            est = make_probe(s.probe, s.target.task, y[fold.train], groups[fold.train],
                             s.fold_seed(fold))
            _fast_solver(est)
            _fit(est, x[fold.train], y[fold.train])
            best = getattr(est, "best_estimator_", est)
            self.fitted_.append(best)
            self.templates_.append(clone(best))
            self.chosen_.append(dict(getattr(est, "best_params_", {}) or {}))
        return self

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Primary-metric score of every fold, each fold's tuned probe refitted on ``x``.

        Parameters
        ----------
        x : ndarray of shape (n_rows, n_features)
            Features of the labelled rows; no features at all gives NaN scores.

        Returns
        -------
        ndarray of shape (n_folds,)
        """
        s = self.setup
        y = s.target.y
        out = np.full(len(s.folds), np.nan)
        if x.ndim != 2 or x.shape[1] == 0:
            return out
        for i, fold in enumerate(s.folds):
            template = self.templates_[i]
            steps = getattr(template, "named_steps", {})
            if set(steps) == {"scaler", "rowspace", "model"}:
                prep = clone(template[:-1])
                a = prep.fit_transform(x[fold.train])
                b = prep.transform(x[fold.test])
                pred = linear_predict(steps["model"], a, y[fold.train], b)
            else:
                est = clone(template)
                _fit(est, x[fold.train], y[fold.train])
                pred = est.predict(x[fold.test])
            out[i] = self._score(y[fold.test], pred)
        return out

    def _score(self, y_true: np.ndarray, pred: np.ndarray) -> float:
        """Primary metric (as :func:`neurocl.evaluate.metrics.score` computes it)."""
        return float(SCORERS[self.setup.primary](y_true, pred))


class GramProbes:
    """Refit the tuned linear probes on column subsets of one feature matrix, fast.

    Standardizing works column by column, and an L2-penalised linear model on more features
    than rows depends on its rows only through their inner products; so the probe refitted
    on a subset of columns is the probe fitted on the row-space coordinates of that subset's
    Gram matrix. The Gram matrix of the full (standardized) features is computed once per
    fold and a subset's Gram is obtained by adding or removing the few columns that change.
    The predictions are those of ``FoldProbes.scores(x[:, columns])``.

    Parameters
    ----------
    probes : FoldProbes
        Fitted on the full features ``x``.
    x : ndarray of shape (n_rows, n_features)
        The full features of the labelled rows.
    """

    def __init__(self, probes: FoldProbes, x: np.ndarray) -> None:
        self.probes = probes
        self.n_features = x.shape[1]
        self._folds = []
        for fold, fitted in zip(probes.setup.folds, probes.fitted_, strict=True):
            scaler = fitted.named_steps["scaler"]
            mean, sd = scaler.mean_, scaler.scale_
            xt = x[fold.train]
            z_tr = (xt - mean) / sd
            z_te = (x[fold.test] - mean) / sd
            self._folds.append((z_tr, z_te, z_tr @ z_tr.T, z_te @ z_tr.T))

    def scores(self, columns: np.ndarray) -> np.ndarray:
        """Score every fold with the features restricted to ``columns``.

        Returns
        -------
        ndarray of shape (n_folds,)
        """
        setup = self.probes.setup
        y = setup.target.y
        out = np.full(len(setup.folds), np.nan)
        columns = np.asarray(columns, dtype=np.int64)
        if len(columns) == 0:
            return out
        removed = None
        if 2 * len(columns) > self.n_features:
            mask = np.ones(self.n_features, dtype=bool)
            mask[columns] = False
            removed = np.flatnonzero(mask)
        for i, fold in enumerate(setup.folds):
            z_tr, z_te, k_tr, k_te = self._folds[i]
            if removed is None:
                a, b = z_tr[:, columns], z_te[:, columns]
                g_tr, g_te = a @ a.T, b @ a.T
            else:
                a, b = z_tr[:, removed], z_te[:, removed]
                g_tr, g_te = k_tr - a @ a.T, k_te - b @ a.T
            lam, u = np.linalg.eigh((g_tr + g_tr.T) / 2)
            ok = lam > max(lam[-1], 0.0) * 1e-12
            if not ok.any():
                continue
            root = np.sqrt(lam[ok])
            coords_tr = u[:, ok] * root
            coords_te = (g_te @ u[:, ok]) / root
            model = self.probes.templates_[i].named_steps["model"]
            pred = linear_predict(model, coords_tr, y[fold.train], coords_te)
            out[i] = self.probes._score(y[fold.test], pred)
        return out


def linear_predict(model: Any, x_train: np.ndarray, y_train: np.ndarray,
                   x_test: np.ndarray) -> np.ndarray:
    """Fit a copy of ``model`` on few features and predict, with exact fast paths.

    A binary ``LogisticRegression`` (L2 penalty, unpenalised intercept, class weights
    ``None`` or ``"balanced"``) is solved by Newton's method with a backtracking line search
    on the same objective, ``C * sum_i s_i logloss_i + |w|^2 / 2``; a ``Ridge`` by its closed
    form with a centred intercept. Any other model is fitted by scikit-learn.

    Parameters
    ----------
    model : estimator
        The unfitted template (its parameters are used).
    x_train : ndarray of shape (n_train, n_features)
    y_train : ndarray of shape (n_train,)
    x_test : ndarray of shape (n_test, n_features)

    Returns
    -------
    ndarray of shape (n_test,)
        Predicted class codes or values.
    """
    from sklearn.linear_model import LogisticRegression, Ridge

    params = model.get_params()
    classes = np.unique(y_train)
    if (isinstance(model, LogisticRegression) and len(classes) == 2
            and params.get("penalty", "l2") in ("l2", "deprecated")
            and params.get("l1_ratio") in (None, 0, 0.0)
            and params.get("fit_intercept", True)
            and params.get("class_weight") in (None, "balanced")):
        t = (y_train == classes[1]).astype(np.float64)
        if params.get("class_weight") == "balanced":
            counts = np.array([np.sum(t == 0), np.sum(t == 1)], dtype=np.float64)
            sw = len(t) / (2 * counts)[t.astype(int)]
        else:
            sw = np.ones(len(t))
        w, b = _logistic_newton(x_train, t, sw, float(params["C"]))
        z = x_test @ w + b
        return np.where(z > 0, classes[1], classes[0])
    if isinstance(model, Ridge) and params.get("fit_intercept", True) and np.ndim(
            params.get("alpha")) == 0 and params.get("positive") is False:
        mx, my = x_train.mean(axis=0), y_train.mean()
        xc = x_train - mx
        d = xc.shape[1]
        w = np.linalg.solve(xc.T @ xc + float(params["alpha"]) * np.eye(d),
                            xc.T @ (y_train - my))
        return (x_test - mx) @ w + my
    est = clone(model)
    _fit(est, x_train, y_train)
    return est.predict(x_test)


def _logistic_newton(x: np.ndarray, t: np.ndarray, sw: np.ndarray, c: float,
                     max_iter: int = 100, tol: float = 1e-10) -> tuple[np.ndarray, float]:
    n, d = x.shape
    x1 = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    reg = np.ones(d + 1)
    reg[-1] = 0.0

    def objective(th: np.ndarray) -> float:
        z = x1 @ th
        return float(c * np.sum(sw * (np.logaddexp(0, z) - t * z))
                     + 0.5 * np.sum(reg * th * th))

    f = objective(theta)
    for _ in range(max_iter):
        z = x1 @ theta
        p = 0.5 * (1 + np.tanh(z / 2))
        grad = c * x1.T @ (sw * (p - t)) + reg * theta
        hess = c * (x1.T * (sw * p * (1 - p))) @ x1 + np.diag(reg)
        hess[-1, -1] += 1e-12
        step = np.linalg.solve(hess, grad)
        decrease = float(grad @ step)
        if decrease < tol * max(1.0, abs(f)):
            break
        lr = 1.0
        while True:
            new = theta - lr * step
            f_new = objective(new)
            if f_new <= f - 1e-4 * lr * decrease or lr < 1e-8:
                break
            lr *= 0.5
        theta, f = new, f_new
    return theta[:-1], float(theta[-1])


def _fast_solver(est: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    model = getattr(est, "model", None)
    if isinstance(model, LogisticRegression):
        est.set_params(model__solver="newton-cholesky")


def _fit(est: BaseEstimator, x: np.ndarray, y: np.ndarray) -> None:
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        est.fit(x, y)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run BLAS (and torch, when loaded) on one thread: small matrices, many of them."""
    import sys

    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    n_torch = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        if torch is not None and n_torch is not None:
            torch.set_num_threads(n_torch)


def raw_fc_matrix(dataset: Any, band: str | None) -> tuple[np.ndarray, bool]:
    """Return the matrices behind the raw-FC baseline, Fisher-z transformed where it applies.

    Returns
    -------
    matrices : ndarray of shape (n_samples, n_nodes, n_nodes), float64
    diagonal : bool
        Whether the baseline keeps the diagonal (non-correlation kinds).
    """
    fc = np.asarray(dataset.band_fc(band), dtype=np.float64)
    kind = str(dataset.meta.get("kind") or "correlation")
    if dataset.meta.get("modality") == "eeg" and kind.lower() not in KINDS:
        return fc, False  # spectral kinds (coh, wpli, ...): no Fisher z, empty diagonal
    key = normalize_kind(kind)
    if key in CORRELATION_KINDS:
        if not dataset.meta.get("fisher_z"):
            fc = fisher_z(fc.copy())
        return fc, False
    return fc, True


def check_encoder(encoder: Any, dataset: Any) -> None:
    """Check that ``encoder`` can embed ``dataset`` (a run checks atlas, nodes and kind).

    Raises
    ------
    ParameterError
        When ``encoder`` has no ``embed`` method.
    CheckpointError
        When a run was trained on another atlas, node order or FC kind.
    """
    if not callable(getattr(encoder, "embed", None)):
        raise ParameterError(
            f"encoder must have an embed(dataset, fc=...) method (a neurocl run); got "
            f"{type(encoder).__name__}"
        )
    check = getattr(encoder, "check_compatible", None)
    if callable(check):
        check(dataset)


def embed_with(encoder: Any, dataset: Any, fc: np.ndarray | None, device: str,
               *, retrain: bool = False) -> np.ndarray:
    """Embed ``dataset`` (with ``fc`` instead of its own FC when given), as float64.

    With ``retrain`` the encoder is first pretrained again on ``fc`` (``retrain_embed``).
    """
    if retrain:
        method, args, kwargs = encoder.retrain_embed, (dataset, fc), {}
    else:
        method, args, kwargs = encoder.embed, (dataset,), {} if fc is None else {"fc": fc}
    if _accepts(method, "device"):
        kwargs["device"] = device
    return np.asarray(method(*args, **kwargs), dtype=np.float64)


def _accepts(func: Callable[..., Any], name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


# --------------------------------------------------------------------------- result
@dataclass
class AblationResult:
    """What :func:`ablate` returns.

    Attributes
    ----------
    table : DataFrame
        One row per representation (``encoder``, ``raw-fc``) and network, sorted by effect
        within each representation: ``representation``, ``network``, ``n_nodes``,
        ``intact`` (the intact score), and per mode (prefix ``drop_`` / ``keep_``): the
        ablated score ``<prefix>_<metric>``, ``<prefix>_delta`` (ablated minus intact),
        ``<prefix>_ci_low`` / ``<prefix>_ci_high`` (95 % corrected resampled t interval over
        folds x repeats), ``<prefix>_null_mean`` / ``<prefix>_null_sd`` (delta of the
        size-matched random sets), ``<prefix>_p_null`` and ``<prefix>_p_fdr``.
    fold_scores : DataFrame
        ``representation``, ``mode``, ``network``, ``repeat``, ``fold``, ``score``
        (``mode`` is ``intact`` for the intact rows).
    null : DataFrame
        ``representation``, ``mode``, ``n_nodes``, ``draw``, ``delta`` (mean over folds).
    info : dict
        Label, task, metric, folds, modes, null size, notes and timing.
    files : list of Path
        Files written by :meth:`write` / :func:`neurocl.api.ablate`.
    """

    table: pd.DataFrame
    fold_scores: pd.DataFrame
    null: pd.DataFrame
    info: dict[str, Any]
    files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``info`` and ``table`` records."""
        return {"info": self.info, "table": records(self.table),
                "files": [str(p) for p in self.files]}

    def write(self, directory: str | Path) -> list[Path]:
        """Write ``ablation.csv``, ``ablation.json``, the fold and null tables and the PNG.

        Parameters
        ----------
        directory : str or Path
            An existing directory.

        Returns
        -------
        list of Path
        """
        import json

        from neurocl.evaluate.brainmaps import plot_ablation

        d = Path(directory)
        files = [d / "ablation.csv", d / "ablation_folds.csv", d / "ablation_null.csv",
                 d / "ablation.json", d / "ablation.png"]
        self.table.to_csv(files[0], index=False)
        self.fold_scores.to_csv(files[1], index=False)
        self.null.to_csv(files[2], index=False)
        files[3].write_text(json.dumps(self.to_dict(), indent=2, default=_json_default) + "\n")
        plot_ablation(self.table, self.info["metric"], self.info["modes"], files[4],
                      title=f"Network ablation: {self.info['label']}")
        return files

    def __repr__(self) -> str:
        return (f"AblationResult(label={self.info.get('label')!r}, "
                f"networks={self.table['network'].nunique() if len(self.table) else 0}, "
                f"representations={self.info.get('representations')})")


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as JSON-ready dicts (NaN becomes None)."""
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and not np.isfinite(v)
                        else (v.item() if isinstance(v, np.generic) else v))
                    for k, v in rec.items()})
    return out


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


# --------------------------------------------------------------------------- main entry
def ablate(
    dataset: Any,
    *,
    label: str,
    encoder: Embedder | None = None,
    modes: Sequence[str] = MODES,
    strategy: str = "mask-input",
    n_null: int | None = None,
    cv: int = 5,
    repeats: int = 3,
    group: str = "subject_id",
    networks: str | Path | None = None,
    unassigned: str = "group",
    only: Sequence[str] | None = None,
    baselines_only: bool = False,
    band: str | None = None,
    task: str = "auto",
    probe: str = "linear",
    seed: int = 0,
    device: str = "cpu",
    progress: Callable[..., None] | None = None,
) -> AblationResult:
    """Ablate every functional network and probe again on the same folds.

    Parameters
    ----------
    dataset : FCDataset
        The dataset (``neurocl.load_dataset``).
    label : str
        Label column of ``dataset.subjects``.
    encoder : object with ``embed(dataset, fc=...)``, optional
        A frozen encoder (a :class:`neurocl.train.run.Run`); without it only the raw-FC
        baseline is ablated.
    modes : sequence of {"drop", "keep-only"}
        Masking modes.
    strategy : {"mask-input", "retrain"}
        How a network is removed from the encoder's representation: masked at the input of
        the frozen encoder, or masked and the encoder pretrained again (the encoder must
        have ``retrain_embed(dataset, fc)``, as a :class:`neurocl.train.run.Run` has).
    n_null : int, optional
        Random node sets per network size (0: no null, no p-values); default
        ``DEFAULT_NULL`` (100), or ``DEFAULT_NULL_RETRAIN`` (39) with ``retrain``. Each costs
        one probe per fold and mode, and with an encoder one embedding pass (``mask-input``)
        or one pretraining run (``retrain``).
    cv, repeats : int
        Outer folds and repetitions (seeds ``seed, seed + 1, ...``).
    group : str
        Column whose values never straddle train and test.
    networks : str or Path, optional
        Network table overriding the dataset's (name and network columns).
    unassigned : {"group", "drop"}
        Nodes without a network: a network of their own (``None``) or no row at all.
    only : sequence of str, optional
        Ablate only these networks.
    baselines_only : bool
        Ablate only the raw-FC baseline even when an encoder is given.
    band : str, optional
        EEG: the band whose FC is the raw-FC baseline.
    task : {"auto", "classification", "regression"}
        The task.
    probe : {"linear", "knn"}
        The probe.
    seed : int
        Seed of folds, inner folds and random node sets.
    device : str
        Torch device of the encoder.
    progress : callable, optional
        ``progress("ablate", done, total)``.

    Returns
    -------
    AblationResult

    Raises
    ------
    ParameterError
        Bad label, mode, strategy, network name, null size or folds.
    InputFileError
        A network table that does not cover the dataset's nodes.
    CheckpointError
        A run trained on another atlas.

    Examples
    --------
    >>> res = ablate(load_dataset("dev_aal.ds"), label="child_adult")  # doctest: +SKIP
    >>> res.table[["network", "n_nodes", "drop_delta", "drop_p_null"]]  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    progress = progress or no_progress
    strategy = check_in(normalize_name(strategy), STRATEGIES, "strategy")
    if n_null is None:
        n_null = DEFAULT_NULL_RETRAIN if strategy == "retrain" else DEFAULT_NULL
    modes = list(dict.fromkeys(normalize_name(m) for m in modes))
    if not modes:
        raise ParameterError(f"modes must name at least one of {', '.join(MODES)}")
    for m in modes:
        check_in(m, MODES, "mode")
    if n_null < 0:
        raise ParameterError(f"the null size must be >= 0; got {n_null}")
    n_nodes = dataset.n_nodes
    sets = select_networks(
        network_sets(dataset.nodes, networks, unassigned=unassigned), only, n_nodes)
    use_encoder = encoder is not None and not baselines_only
    if use_encoder:
        check_encoder(encoder, dataset)
    if strategy == "retrain" and not (
            use_encoder and callable(getattr(encoder, "retrain_embed", None))):
        raise ParameterError(
            "strategy retrain pretrains the encoder again without each network, so it needs "
            "a run folder (and not --baselines-only); use strategy mask-input for the raw-FC "
            "baseline"
        )
    setup = prepare_setup(dataset, label=label, task=task, cv=cv, repeats=repeats,
                          group=group, seed=seed, probe=probe)
    keep = setup.keep
    rng = np.random.default_rng(seed)
    sizes = sorted({len(v) for v in sets.values()})
    null_sets = {k: random_node_sets(n_nodes, k, n_null, rng) for k in sizes}
    notes = [
        "probe hyperparameters chosen by inner CV on the intact representation, per fold, "
        "and reused for every ablated and null representation of that fold",
        f"null: {n_null} random node sets per network size, drawn from all {n_nodes} nodes",
    ]
    if strategy == "retrain":
        notes.append(
            "retrain: the encoder is pretrained again, with the run's options and seed, on the "
            "dataset's masked FC for every network and null set; the intact score is the run's"
        )

    reps: list[str] = (["encoder"] if use_encoder else []) + ["raw-fc"]
    n_sets = len(sets) + sum(len(v) for v in null_sets.values())
    total = len(reps) * (1 + len(modes) * n_sets)
    done = 0
    progress("ablate", done, total)

    fold_rows: list[dict[str, Any]] = []
    null_rows: list[dict[str, Any]] = []
    table_rows: list[dict[str, Any]] = []
    intact_scores: dict[str, float] = {}
    raw_fc, diagonal = raw_fc_matrix(dataset, band)
    rows_e, cols_e = edge_index(n_nodes, diagonal)
    base_fc = None
    if use_encoder:
        base_fc = np.asarray(dataset.fc, dtype=np.float32)

    if use_encoder:
        import torch  # noqa: F401  (so that its threads are limited too)
    with single_threaded():
        for rep in reps:
            if rep == "raw-fc":
                intact_x = raw_fc[:, rows_e, cols_e][keep]
            else:
                intact_x = embed_with(encoder, dataset, None, device)[keep]
            probes = FoldProbes(setup).fit(intact_x)
            gram = GramProbes(probes, intact_x) if (
                rep == "raw-fc" and setup.probe == "linear") else None

            def ablated_scores(idx: np.ndarray, mode: str, _rep: str = rep,
                               _x: np.ndarray = intact_x, _p: FoldProbes = probes,
                               _g: GramProbes | None = gram) -> np.ndarray:
                if _rep == "raw-fc":
                    columns = edge_columns(rows_e, cols_e, idx, mode, n_nodes)
                    return _g.scores(columns) if _g is not None else _p.scores(_x[:, columns])
                assert base_fc is not None
                masked = mask_fc(base_fc, idx, mode)
                emb = embed_with(encoder, dataset, masked, device,
                                 retrain=strategy == "retrain")
                return _p.scores(emb[keep])

            intact = probes.scores(intact_x)
            intact_scores[rep] = float(np.nanmean(intact))
            _fold_records(fold_rows, rep, "intact", "(intact)", setup.folds, intact)
            done += 1
            progress("ablate", done, total)

            per_mode: dict[str, dict[str, Any]] = {}
            for mode in modes:
                obs: dict[str, np.ndarray] = {}
                for name, idx in sets.items():
                    obs[name] = ablated_scores(idx, mode)
                    _fold_records(fold_rows, rep, mode, name, setup.folds, obs[name])
                    done += 1
                    progress("ablate", done, total)
                null_delta: dict[int, np.ndarray] = {}
                for k, draws in null_sets.items():
                    vals = []
                    for d, idx in enumerate(draws):
                        sc = ablated_scores(idx, mode)
                        delta = float(np.nanmean(sc - intact)) if np.isfinite(sc).any() \
                            else np.nan
                        vals.append(delta)
                        null_rows.append({"representation": rep, "mode": mode, "n_nodes": k,
                                          "draw": d, "delta": delta})
                        done += 1
                        progress("ablate", done, total)
                    null_delta[k] = np.asarray(vals, dtype=np.float64)
                per_mode[mode] = {"obs": obs, "null": null_delta}
            table_rows.extend(_table_rows(rep, sets, intact, per_mode, modes, setup, n_null))

    table = _sort_table(pd.DataFrame(table_rows), modes, setup.primary, reps)
    info = {
        "label": label, "task": setup.target.task, "classes": setup.target.classes,
        "metric": setup.primary, "probe": setup.probe, "strategy": strategy,
        "modes": modes, "n_null": n_null, "p_value": "(1 + #{null >= observed}) / (1 + R)",
        "representations": reps, "intact": intact_scores,
        "n_samples": int(keep.sum()), "n_dropped": setup.target.n_dropped,
        "n_nodes": n_nodes, "networks": {k: len(v) for k, v in sets.items()},
        "unassigned": unassigned, "scheme": setup.grouping.reason,
        "group": setup.grouping.column, "cv": cv, "repeats": repeats,
        "n_folds": len(setup.folds), "seed": seed, "band": band,
        "dataset": str(getattr(dataset, "path", "")),
        "run": str(getattr(encoder, "path", "")) if use_encoder else None,
        "notes": notes, "seconds": round(time.perf_counter() - t0, 2),
    }
    return AblationResult(table, pd.DataFrame(fold_rows), pd.DataFrame(null_rows), info)


def _fold_records(out: list[dict[str, Any]], rep: str, mode: str, network: str,
                  folds: list[Fold], scores: np.ndarray) -> None:
    for f, s in zip(folds, scores, strict=True):
        out.append({"representation": rep, "mode": mode, "network": network,
                    "repeat": f.repeat, "fold": f.fold, "score": float(s)})


def _table_rows(rep: str, sets: dict[str, np.ndarray], intact: np.ndarray,
                per_mode: dict[str, dict[str, Any]], modes: list[str], setup: ProbeSetup,
                n_null: int) -> list[dict[str, Any]]:
    n_train = float(np.mean([len(f.train) for f in setup.folds]))
    n_test = float(np.mean([len(f.test) for f in setup.folds]))
    rows: list[dict[str, Any]] = []
    for name, idx in sets.items():
        rows.append({"representation": rep, "network": name, "n_nodes": len(idx),
                     "intact": float(np.nanmean(intact))})
    for mode in modes:
        pre = MODE_PREFIX[mode]
        pvals = []
        for row in rows:
            sc = per_mode[mode]["obs"][row["network"]]
            null = per_mode[mode]["null"].get(row["n_nodes"], np.array([]))
            if np.isfinite(sc).any():
                t = corrected_resampled_ttest(sc, intact, n_train, n_test)
                delta, low, high = t["mean_diff"], t["ci_low"], t["ci_high"]
            else:
                delta = low = high = np.nan
            row[f"{pre}_{setup.primary}"] = float(np.nanmean(sc)) if np.isfinite(sc).any() \
                else np.nan
            row[f"{pre}_delta"] = delta
            row[f"{pre}_ci_low"] = low
            row[f"{pre}_ci_high"] = high
            null = null[np.isfinite(null)]
            if n_null and len(null) and np.isfinite(delta):
                # drop: a larger loss is a larger effect; keep-only: a higher score is
                sign = -1.0 if mode == "drop" else 1.0
                p = float((1 + np.sum(sign * null >= sign * delta)) / (1 + len(null)))
                row[f"{pre}_null_mean"] = float(null.mean())
                row[f"{pre}_null_sd"] = float(null.std(ddof=1)) if len(null) > 1 else np.nan
            else:
                p = np.nan
                row[f"{pre}_null_mean"] = row[f"{pre}_null_sd"] = np.nan
            row[f"{pre}_p_null"] = p
            pvals.append(p)
        for row, q in zip(rows, fdr_bh(np.asarray(pvals)), strict=True):
            row[f"{pre}_p_fdr"] = float(q)
    return rows


def _sort_table(table: pd.DataFrame, modes: list[str], metric: str,
                reps: list[str]) -> pd.DataFrame:
    if table.empty:
        return table
    if "drop" in modes:
        key, ascending = "drop_delta", True
    else:
        key, ascending = "keep_delta", False
    order = {r: i for i, r in enumerate(reps)}
    table = table.assign(_rep=table["representation"].map(order))
    table = table.sort_values(["_rep", key], ascending=[True, ascending], na_position="last")
    return table.drop(columns="_rep").reset_index(drop=True)


__all__ = [
    "DEFAULT_NULL",
    "DEFAULT_NULL_RETRAIN",
    "MODES",
    "STRATEGIES",
    "UNASSIGNED",
    "AblationResult",
    "FoldProbes",
    "ProbeSetup",
    "ablate",
    "edge_columns",
    "fdr_bh",
    "linear_predict",
    "mask_fc",
    "network_sets",
    "prepare_setup",
    "random_node_sets",
    "select_networks",
]
