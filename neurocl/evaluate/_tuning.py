"""A lean grouped inner cross-validation for one hyperparameter of a probe."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from neurocl.evaluate._rowspace import RowSpace


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y_true`` (as scikit-learn's)."""
    recalls = [np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]
    return float(np.mean(recalls))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination (as scikit-learn's ``r2_score``)."""
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    ss_tot = float(np.sum((y_true - np.mean(y_true)) ** 2))
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return 1.0 - ss_res / ss_tot


SCORERS = {"balanced_accuracy": balanced_accuracy, "r2": r2}


class TunedProbe(BaseEstimator):
    """Standardize, move to the training rows' span, fit ``model``; tune one parameter.

    For each inner split the scaler and the row-space basis are fitted once on the inner
    training rows; each candidate value is scored on the inner test rows; the value with the
    best mean score (the first on ties, so list values from strongest to weakest
    regularisation) is refitted on all the rows given to :meth:`fit`.

    Parameters
    ----------
    model : estimator
        The final model (``LogisticRegression``, ``Ridge``, ``KNeighbors*``).
    param : str
        Its parameter to tune (``"C"``, ``"alpha"``, ``"n_neighbors"``).
    values : sequence
        Candidate values.
    cv : list of (train, test)
        Inner splits of the training rows.
    scoring : {"balanced_accuracy", "r2"}
        Inner score (higher is better).

    Attributes
    ----------
    best_params_ : dict
        ``{"model__<param>": value}``.
    best_estimator_ : Pipeline
        ``scaler -> rowspace -> model`` refitted on all rows with the chosen value.
    cv_scores_ : ndarray of shape (n_splits, n_values)
        Inner scores.
    classes_ : ndarray
        Classes (classification).
    """

    def __init__(self, model: BaseEstimator, param: str, values: Sequence[Any], cv: Any,
                 scoring: str) -> None:
        self.model = model
        self.param = param
        self.values = values
        self.cv = cv
        self.scoring = scoring

    def _pipeline(self, value: Any) -> Pipeline:
        model = clone(self.model).set_params(**{self.param: value})
        return Pipeline([("scaler", StandardScaler()), ("rowspace", RowSpace()),
                         ("model", model)])

    def fit(self, x: np.ndarray, y: np.ndarray) -> TunedProbe:
        """Choose the parameter by inner CV on ``x`` (n_rows, n_features), then refit."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y)
        scorer = SCORERS[self.scoring]
        splits = list(self.cv)
        scores = np.full((len(splits), len(self.values)), np.nan)
        for i, (train, test) in enumerate(splits):
            prep = Pipeline([("scaler", StandardScaler()), ("rowspace", RowSpace())])
            a = prep.fit_transform(x[train])
            b = prep.transform(x[test])
            for j, value in enumerate(self.values):
                model = clone(self.model).set_params(**{self.param: value})
                model.fit(a, y[train])
                scores[i, j] = scorer(y[test], model.predict(b))
        best = int(np.nanargmax(np.nanmean(scores, axis=0)))
        self.cv_scores_ = scores
        self.best_params_ = {f"model__{self.param}": self.values[best]}
        self.best_estimator_ = self._pipeline(self.values[best]).fit(x, y)
        if hasattr(self.best_estimator_, "classes_"):
            self.classes_ = self.best_estimator_.classes_
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predict with the refitted pipeline."""
        return self.best_estimator_.predict(x)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (classification)."""
        return self.best_estimator_.predict_proba(x)
