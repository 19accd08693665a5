"""The probe target: which column, which task, which rows.

A label column is read from ``dataset.subjects``; missing values are dropped (and counted),
the task is detected from the values unless given, and class labels are encoded as integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neurocl._core.errors import ParameterError
from neurocl._core.validation import check_in

TASKS = ("auto", "classification", "regression")
#: integer-valued numeric labels with at most this many distinct values are classes
MAX_INTEGER_CLASSES = 5
#: identifier columns of ``subjects`` that are never labels
ID_COLUMNS = ("sample_id", "subject_id")


@dataclass
class Target:
    """A prepared probe target.

    Attributes
    ----------
    name : str
        The label column.
    task : {"classification", "regression"}
        The resolved task.
    y : ndarray of shape (n_kept,)
        Integer class codes (classification) or float values (regression), for kept rows.
    keep : ndarray of bool, shape (n_samples,)
        Which rows of the dataset carry a label.
    classes : list of str
        Class names in code order (classification), empty for regression.
    n_dropped : int
        Rows dropped because their label is missing.
    detected : str
        Why this task was chosen (``"given"`` or the detection rule that applied).
    """

    name: str
    task: str
    y: np.ndarray
    keep: np.ndarray
    classes: list[str] = field(default_factory=list)
    n_dropped: int = 0
    detected: str = "given"


def detect_task(values: pd.Series) -> tuple[str, str]:
    """Guess the task from a label column.

    Non-numeric or boolean values are classes; numeric values are classes when they take two
    distinct values, or at most :data:`MAX_INTEGER_CLASSES` distinct integer values; any other
    numeric column is a regression target.

    Parameters
    ----------
    values : Series
        The label values, missing values already removed.

    Returns
    -------
    task : {"classification", "regression"}
    reason : str
        The rule that decided, for the report.
    """
    numeric = pd.to_numeric(values, errors="coerce")
    if values.dtype == bool or numeric.isna().any():
        return "classification", "non-numeric values"
    n_unique = numeric.nunique()
    if n_unique <= 2:
        return "classification", f"{n_unique} distinct numeric values"
    integer = bool(np.all(np.equal(np.mod(numeric.to_numpy(dtype=float), 1), 0)))
    if integer and n_unique <= MAX_INTEGER_CLASSES:
        return "classification", f"{n_unique} distinct integer values"
    return "regression", f"{n_unique} distinct numeric values"


def prepare_target(
    subjects: pd.DataFrame,
    label: str,
    task: str = "auto",
    *,
    min_samples: int = 4,
) -> Target:
    """Read, clean and encode the label column.

    Parameters
    ----------
    subjects : DataFrame
        One row per sample (``dataset.subjects``).
    label : str
        The label column.
    task : {"auto", "classification", "regression"}
        The task; ``"auto"`` detects it with :func:`detect_task`.
    min_samples : int
        Fewest labelled rows accepted.

    Returns
    -------
    Target

    Raises
    ------
    ParameterError
        Unknown column (the message lists the label columns), too few labelled rows, a
        classification label with a single class, or a non-numeric regression label.
    """
    check_in(task, TASKS, "task")
    if label not in subjects.columns:
        candidates = [c for c in subjects.columns if c not in ID_COLUMNS]
        raise ParameterError(
            f"label column {label!r} is not in the subjects table; its columns are "
            f"{', '.join(map(str, candidates)) or '(none)'}"
        )
    column = subjects[label]
    keep = column.notna().to_numpy().copy()
    if column.dtype == object or pd.api.types.is_string_dtype(column):
        keep = keep & column.astype(str).str.strip().ne("").to_numpy()
    n_dropped = int((~keep).sum())
    values = column[keep]
    if len(values) < min_samples:
        raise ParameterError(
            f"label {label!r} has only {len(values)} non-missing values ({n_dropped} missing "
            f"were dropped), fewer than the {min_samples} a probe needs; choose another label"
        )
    reason = "given"
    if task == "auto":
        task, reason = detect_task(values)
    if task == "classification":
        keys = values.astype(str).str.strip() if not _is_numeric(values) else values
        classes_raw = np.unique(keys.to_numpy())
        if len(classes_raw) < 2:
            raise ParameterError(
                f"label {label!r} has a single class ({classes_raw[0]!r}) among its "
                f"{len(values)} labelled rows; a classifier needs at least two"
            )
        codes = np.searchsorted(classes_raw, keys.to_numpy())
        classes = [_class_name(c) for c in classes_raw]
        return Target(label, task, codes.astype(np.int64), keep, classes, n_dropped, reason)
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any():
        bad = values[numeric.isna()].iloc[0]
        raise ParameterError(
            f"label {label!r} is not numeric (e.g. {bad!r}), so it cannot be a regression "
            "target; use --task classification"
        )
    return Target(label, task, numeric.to_numpy(dtype=np.float64), keep, [], n_dropped, reason)


def _is_numeric(values: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(values)) and values.dtype != bool


def _class_name(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
