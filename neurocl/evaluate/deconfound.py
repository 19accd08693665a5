"""Deconfounding fitted inside training folds: regress confounds out of features."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from neurocl._core.errors import ParameterError


def confound_matrix(subjects: pd.DataFrame, columns: Sequence[str], label: str) -> np.ndarray:
    """Numeric design matrix of the confound columns.

    Numeric columns are used as they are; other columns (e.g. sex) are one-hot encoded with
    the first level dropped.

    Parameters
    ----------
    subjects : DataFrame
        The labelled rows of ``dataset.subjects``.
    columns : sequence of str
        Confound columns.
    label : str
        The label column, which may not be a confound.

    Returns
    -------
    ndarray of shape (n_rows, n_confound_features)

    Raises
    ------
    ParameterError
        Unknown column, the label among the confounds, or missing values.
    """
    parts = []
    for col in columns:
        if col not in subjects.columns:
            raise ParameterError(
                f"deconfound column {col!r} is not in the subjects table; its columns are "
                f"{', '.join(map(str, subjects.columns))}"
            )
        if col == label:
            raise ParameterError(
                f"the label {label!r} cannot also be a confound; remove it from --deconfound"
            )
        values = subjects[col]
        if values.isna().any():
            raise ParameterError(
                f"deconfound column {col!r} has {int(values.isna().sum())} missing values "
                "among the labelled rows; fill them or drop the column from --deconfound"
            )
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().all() and values.dtype != bool:
            parts.append(numeric.to_numpy(dtype=np.float64)[:, None])
        else:
            dummies = pd.get_dummies(values.astype(str), drop_first=True, dtype=np.float64)
            parts.append(dummies.to_numpy())
    return np.hstack(parts) if parts else np.empty((len(subjects), 0))


class Deconfounder:
    """Remove the linear effect of confounds from features (ordinary least squares).

    The regression of each feature on the confounds (with an intercept) is fitted on the
    training rows only; :meth:`transform` subtracts the confounds' predicted contribution.

    Attributes
    ----------
    coef_ : ndarray of shape (n_confounds, n_features)
        Regression weights of the confounds.
    intercept_ : ndarray of shape (n_features,)
        Intercepts.
    confound_mean_ : ndarray of shape (n_confounds,)
        Training means of the confounds.
    """

    def fit(self, features: np.ndarray, confounds: np.ndarray) -> Deconfounder:
        """Fit ``features`` (n_rows, n_features) on ``confounds`` (n_rows, n_confounds)."""
        self.confound_mean_ = confounds.mean(axis=0)
        design = np.hstack([np.ones((len(confounds), 1)), confounds - self.confound_mean_])
        beta, *_ = np.linalg.lstsq(design, features, rcond=None)
        self.intercept_ = beta[0]
        self.coef_ = beta[1:]
        return self

    def transform(self, features: np.ndarray, confounds: np.ndarray) -> np.ndarray:
        """Return ``features`` minus the confounds' contribution (training mean kept)."""
        return features - (confounds - self.confound_mean_) @ self.coef_
