"""Scores of a probe on one test set."""

from __future__ import annotations

import numpy as np
from scipy import stats

CLASSIFICATION_METRICS = ("balanced_accuracy", "roc_auc", "accuracy", "f1_macro")
REGRESSION_METRICS = ("r2", "mae", "pearson_r")
#: the metric that decides (permutation p-values, paired comparisons, inner CV)
PRIMARY = {"classification": "balanced_accuracy", "regression": "r2"}


def metric_names(task: str) -> tuple[str, ...]:
    """Metric names reported for ``task``."""
    return CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS


def classification_scores(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, n_classes: int
) -> dict[str, float]:
    """Balanced accuracy, ROC AUC, accuracy and macro-F1.

    Computed with numpy (they run for every fold, permutation and bootstrap resample) and
    equal to scikit-learn's ``balanced_accuracy_score``, ``roc_auc_score`` (binary, or
    ``multi_class="ovr", average="macro"``), ``accuracy_score`` and ``f1_score(labels=
    range(n_classes), average="macro", zero_division=0)``.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_test,)
        Class codes ``0 .. n_classes - 1``.
    proba : ndarray of shape (n_test, n_classes) or None
        Predicted probabilities (ROC AUC is NaN without them).
    n_classes : int
        Number of classes of the task. ROC AUC is binary for two classes and the macro
        one-vs-rest average otherwise (over the classes present in the test set); it is NaN
        when the test set holds a single class.

    Returns
    -------
    dict of str to float
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    cm = np.bincount(n_classes * y_true + y_pred, minlength=n_classes * n_classes)
    cm = cm.reshape(n_classes, n_classes)
    support = cm.sum(axis=1)
    tp = np.diag(cm).astype(np.float64)
    present = support > 0
    recall = tp[present] / support[present]
    denom = 2 * tp + (cm.sum(axis=0) - tp) + (support - tp)
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        "balanced_accuracy": float(recall.mean()) if len(recall) else float("nan"),
        "roc_auc": _auc(y_true, proba, n_classes),
        "accuracy": float(np.mean(y_true == y_pred)) if len(y_true) else float("nan"),
        "f1_macro": float(f1.mean()),
    }


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) formula, ties counted half.

    Parameters
    ----------
    positive : ndarray of bool, shape (n,)
        Which rows are positives.
    scores : ndarray of shape (n,)
        Higher means more likely positive.

    Returns
    -------
    float
        NaN when one side is empty.
    """
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = stats.rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _auc(y_true: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    if proba is None or len(np.unique(y_true)) < 2:
        return float("nan")
    if n_classes == 2:
        return binary_auc(y_true == 1, proba[:, 1])
    return float(np.mean([binary_auc(y_true == c, proba[:, c]) for c in np.unique(y_true)]))


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """R², mean absolute error and Pearson r (NaN when a side is constant).

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_test,)

    Returns
    -------
    dict of str to float
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if np.ptp(y_pred) <= 1e-12 * max(1.0, float(np.abs(y_pred).max())) or np.ptp(y_true) == 0:
        r = float("nan")
    else:
        r = float(np.corrcoef(y_true, y_pred)[0, 1])
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    if len(y_true) < 2:
        r2 = float("nan")
    elif ss_tot == 0:
        r2 = 1.0 if ss_res == 0 else 0.0
    else:
        r2 = 1.0 - ss_res / ss_tot
    return {"r2": r2, "mae": float(np.mean(np.abs(y_true - y_pred))), "pearson_r": r}


def score(
    task: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None = None,
    n_classes: int = 2,
) -> dict[str, float]:
    """Every metric of ``task`` on one test set (see the two functions above)."""
    if task == "classification":
        return classification_scores(y_true, y_pred, proba, n_classes)
    return regression_scores(y_true, y_pred)
