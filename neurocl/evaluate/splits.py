"""Outer cross-validation folds shared by every row of a probe table.

Folds are grouped (no group, by default no person, is ever on both sides), stratified for
classification, and repeated with different seeds. A dataset of a single person is split by
run (leave-one-run-out) and a ``site`` column gives leave-site-out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, StratifiedGroupKFold

from neurocl._core.errors import ParameterError

SCHEMES = ("group-kfold", "leave-one-group-out", "external")


@dataclass(frozen=True)
class Fold:
    """One train/test split.

    Attributes
    ----------
    repeat : int
        The repetition (seed ``seed + repeat``).
    fold : int
        The fold within the repetition.
    train : ndarray of int
        Row indices of the training set (into the labelled rows).
    test : ndarray of int
        Row indices of the test set.
    """

    repeat: int
    fold: int
    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class Grouping:
    """How rows are grouped for splitting.

    Attributes
    ----------
    groups : ndarray of shape (n_rows,)
        The group of each row.
    column : str
        The column the groups come from.
    scheme : str
        ``"group-kfold"`` or ``"leave-one-group-out"``.
    reason : str
        Why this scheme applies, for the report.
    """

    groups: np.ndarray
    column: str
    scheme: str
    reason: str


def resolve_grouping(
    subjects: pd.DataFrame, group: str = "subject_id", site: str | None = None
) -> Grouping:
    """Choose the grouping column and the splitting scheme.

    Parameters
    ----------
    subjects : DataFrame
        The labelled rows of ``dataset.subjects``.
    group : str
        The column whose values never straddle train and test (``subject_id`` by default).
        ``"run"`` gives leave-one-run-out.
    site : str, optional
        A site column: leave-site-out (each site is a test set once).

    Returns
    -------
    Grouping

    Raises
    ------
    ParameterError
        A missing column, missing values in it, or a person seen at several sites.
    """
    for col in (group, site):
        if col is not None and col not in subjects.columns:
            raise ParameterError(
                f"grouping column {col!r} is not in the subjects table; its columns are "
                f"{', '.join(map(str, subjects.columns))}"
            )
    groups = subjects[group]
    if groups.isna().any():
        raise ParameterError(
            f"grouping column {group!r} has {int(groups.isna().sum())} missing values; "
            "fill them or choose another --group"
        )
    if site is not None:
        sites = subjects[site]
        if sites.isna().any():
            raise ParameterError(
                f"site column {site!r} has {int(sites.isna().sum())} missing values; fill them"
            )
        per_group = pd.DataFrame({"g": groups.astype(str), "s": sites.astype(str)})
        spread = per_group.groupby("g")["s"].nunique()
        if (spread > 1).any():
            raise ParameterError(
                f"{group} {spread[spread > 1].index[0]!r} appears at several sites of column "
                f"{site!r}, so leave-site-out would split a person; fix the site column"
            )
        if sites.nunique() < 2:
            raise ParameterError(
                f"site column {site!r} holds a single site; leave-site-out needs at least two"
            )
        return Grouping(
            sites.astype(str).to_numpy(), site, "leave-one-group-out", "leave-site-out"
        )
    if group == "run":
        return Grouping(
            groups.astype(str).to_numpy(), group, "leave-one-group-out", "leave-one-run-out"
        )
    if groups.nunique() == 1 and "run" in subjects.columns and subjects["run"].nunique() > 1:
        runs = subjects["run"]
        if runs.isna().any():
            raise ParameterError(
                "the dataset holds a single person and its run column has missing values, so "
                "runs cannot be the groups; fill the run column"
            )
        return Grouping(
            runs.astype(str).to_numpy(),
            "run",
            "leave-one-group-out",
            f"a single {group}: leave-one-run-out",
        )
    return Grouping(groups.astype(str).to_numpy(), group, "group-kfold", f"grouped by {group}")


def make_folds(
    y: np.ndarray,
    grouping: Grouping,
    task: str,
    *,
    cv: int = 5,
    repeats: int = 5,
    seed: int = 0,
    classes: list[str] | None = None,
) -> list[Fold]:
    """Build the outer folds.

    Parameters
    ----------
    y : ndarray of shape (n_rows,)
        Class codes (classification) or values (regression).
    grouping : Grouping
        From :func:`resolve_grouping`.
    task : {"classification", "regression"}
        Classification folds are stratified.
    cv : int
        Number of folds (group k-fold schemes).
    repeats : int
        Repetitions with seeds ``seed, seed + 1, ...`` (leave-one-group-out is deterministic
        and runs once).
    seed : int
        Seed of the first repetition.
    classes : list of str, optional
        Class names (for messages).

    Returns
    -------
    list of Fold

    Raises
    ------
    ParameterError
        Too few groups for ``cv`` folds, too few groups in a class, or a training set that
        lacks a class.
    """
    groups = grouping.groups
    n_groups = len(np.unique(groups))
    if cv < 2:
        raise ParameterError(f"cv must be at least 2; got {cv}")
    if repeats < 1:
        raise ParameterError(f"repeats must be at least 1; got {repeats}")
    if grouping.scheme == "leave-one-group-out":
        if n_groups < 2:
            raise ParameterError(
                f"column {grouping.column!r} holds a single value; leave-one-out needs two"
            )
        folds = [
            Fold(0, i, train, test)
            for i, (train, test) in enumerate(LeaveOneGroupOut().split(y, y, groups))
        ]
    else:
        if n_groups < cv:
            raise ParameterError(
                f"only {n_groups} distinct values of {grouping.column!r} for {cv} folds; lower "
                "--cv, or group by run (--group run) when the dataset holds one person"
            )
        if task == "classification":
            _check_class_groups(y, groups, cv, grouping.column, classes)
        folds = []
        for r in range(repeats):
            if task == "classification":
                splitter = StratifiedGroupKFold(cv, shuffle=True, random_state=seed + r)
            else:
                splitter = GroupKFold(cv, shuffle=True, random_state=seed + r)
            for i, (train, test) in enumerate(splitter.split(y, y, groups)):
                folds.append(Fold(r, i, train, test))
    for f in folds:
        if np.intersect1d(groups[f.train], groups[f.test]).size:  # pragma: no cover
            raise AssertionError("a group straddles train and test")
        if task == "classification" and len(np.unique(y[f.train])) < len(np.unique(y)):
            raise ParameterError(
                f"a training fold lacks a class (fold {f.fold} of repeat {f.repeat}); some "
                f"class has too few distinct {grouping.column!r} values for this split"
            )
    return folds


def _check_class_groups(
    y: np.ndarray, groups: np.ndarray, cv: int, column: str, classes: list[str] | None
) -> None:
    for code in np.unique(y):
        n = len(np.unique(groups[y == code]))
        if n < cv:
            name = classes[int(code)] if classes else str(int(code))
            raise ParameterError(
                f"class {name!r} has only {n} distinct {column!r} values, fewer than the "
                f"{cv} folds; lower --cv to {max(n, 2)} or merge rare classes"
            )
