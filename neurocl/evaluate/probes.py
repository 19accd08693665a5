"""Probes: the supervised read-outs fitted on frozen features.

Every probe standardizes its input (and, with more features than training rows, works in the
span of the training rows, which changes no prediction: see ``_rowspace.RowSpace``) and
chooses its hyperparameter by an inner cross-validation that sees the outer training fold
only (grouped, so that one person's rows stay on one side of every inner split too).

=========  ======================================  ====================================
name       classification                          regression
=========  ======================================  ====================================
linear     logistic regression, C by inner CV      ridge, alpha by inner CV
knn        k-nearest neighbours, k by inner CV     k-nearest neighbours, k by inner CV
dummy      prior class probabilities (chance)      training mean (chance)
=========  ======================================  ====================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from neurocl._core.errors import ParameterError
from neurocl._core.registry import Registry
from neurocl.evaluate._tuning import TunedProbe

#: inverse regularisation strengths searched for the logistic probe
LOGISTIC_C = tuple(np.logspace(-4, 2, 7))
#: ridge penalties searched for the ridge probe
RIDGE_ALPHA = tuple(np.logspace(-1, 6, 8))
#: neighbour counts searched for the kNN probe (capped by the inner training size)
KNN_K = (1, 3, 5, 9, 15, 25)
#: inner folds used to choose hyperparameters
INNER_CV = 3

PROBES: Registry[Callable[..., BaseEstimator]] = Registry("probe")


def inner_splits(
    y: np.ndarray, groups: np.ndarray, task: str, seed: int, n_splits: int = INNER_CV
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split one training set into grouped (classification: stratified) inner folds.

    Parameters
    ----------
    y : ndarray of shape (n_train,)
        Training labels.
    groups : ndarray of shape (n_train,)
        Training groups.
    task : {"classification", "regression"}
        Classification folds are stratified.
    seed : int
        Shuffling seed.
    n_splits : int
        Wanted number of inner folds; lowered to the number of groups when fewer.

    Returns
    -------
    list of (train, test) index arrays

    Raises
    ------
    ParameterError
        When the training set holds a single group.
    """
    n_groups = len(np.unique(groups))
    k = min(n_splits, n_groups)
    if task == "classification":
        smallest = min(len(np.unique(groups[y == c])) for c in np.unique(y))
        if smallest < 2:
            raise ParameterError(
                "a class has a single group in a training fold, so hyperparameters cannot be "
                "chosen by grouped inner cross-validation; lower --cv or merge rare classes"
            )
        k = min(k, smallest)
    if k < 2:
        raise ParameterError(
            "a training fold holds a single group, so hyperparameters cannot be chosen by "
            "grouped inner cross-validation; use more groups (e.g. --group run) or fewer folds"
        )
    if task == "classification":
        splitter: Any = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
    else:
        splitter = GroupKFold(k, shuffle=True, random_state=seed)
    return list(splitter.split(y, y, groups))


@PROBES.register("linear", "logistic", "ridge")
def linear_probe(task: str, cv: Any, seed: int = 0) -> BaseEstimator:
    """Standardize + logistic regression (C by inner CV) or ridge (alpha by inner CV).

    Parameters
    ----------
    task : {"classification", "regression"}
        Which model.
    cv : iterable of (train, test)
        The inner folds (:func:`inner_splits`).
    seed : int
        Random state of the solver.

    Returns
    -------
    TunedProbe
        Refit on the whole training set with the chosen value (ties go to the strongest
        regularisation).
    """
    if task == "classification":
        model: Any = LogisticRegression(class_weight="balanced", max_iter=5000,
                                        random_state=seed)
        return TunedProbe(model, "C", list(LOGISTIC_C), cv, "balanced_accuracy")
    return TunedProbe(Ridge(), "alpha", list(RIDGE_ALPHA[::-1]), cv, "r2")


@PROBES.register("knn", "k-nearest-neighbours", "k-nearest-neighbors")
def knn_probe(task: str, cv: Any, seed: int = 0) -> BaseEstimator:
    """Standardize + k-nearest neighbours, k chosen by inner CV.

    Parameters
    ----------
    task : {"classification", "regression"}
        Which model.
    cv : list of (train, test)
        The inner folds; k is capped by the smallest inner training set.
    seed : int
        Unused (kNN is deterministic); kept for a common signature.

    Returns
    -------
    TunedProbe
        Ties go to the largest k.
    """
    smallest = min(len(train) for train, _ in cv)
    ks = [k for k in KNN_K if k <= smallest] or [1]
    if task == "classification":
        return TunedProbe(KNeighborsClassifier(), "n_neighbors", ks[::-1], cv,
                          "balanced_accuracy")
    return TunedProbe(KNeighborsRegressor(), "n_neighbors", ks[::-1], cv, "r2")


@PROBES.register("dummy", "chance")
def dummy_probe(task: str, cv: Any = None, seed: int = 0) -> BaseEstimator:
    """Chance level: the prior class probabilities, or the training mean.

    Parameters
    ----------
    task : {"classification", "regression"}
        Which model.
    cv : object
        Unused.
    seed : int
        Unused.

    Returns
    -------
    DummyClassifier or DummyRegressor
    """
    if task == "classification":
        return DummyClassifier(strategy="prior")
    return DummyRegressor(strategy="mean")


def make_probe(
    name: str, task: str, y: np.ndarray, groups: np.ndarray, seed: int = 0
) -> BaseEstimator:
    """Build the probe ``name`` for one training set (inner folds included).

    Parameters
    ----------
    name : str
        A registered probe (``linear``, ``knn``, ``dummy``).
    task : {"classification", "regression"}
        The task.
    y : ndarray of shape (n_train,)
        Training labels (for stratified inner folds).
    groups : ndarray of shape (n_train,)
        Training groups (inner folds are grouped).
    seed : int
        Seed of the inner split and solver.

    Returns
    -------
    estimator
        Unfitted.
    """
    key = PROBES.resolve(name)
    factory = PROBES.get(key)
    if key == "dummy":
        return factory(task)
    return factory(task, inner_splits(y, groups, task, seed), seed)
