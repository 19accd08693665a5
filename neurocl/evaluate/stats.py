"""Statistics over folds: corrected resampled t-test, bootstrap and permutation p-values."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats


def corrected_resampled_ttest(
    a: np.ndarray,
    b: np.ndarray,
    n_train: float,
    n_test: float,
    *,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Nadeau & Bengio's corrected resampled t-test of paired fold scores.

    Folds of repeated cross-validation share training data, so their scores are correlated
    and the plain paired t-test is far too liberal. Nadeau & Bengio (2003, Machine Learning
    52:239) inflate the variance of the mean difference over ``J`` folds from ``s² / J`` to
    ``(1 / J + n_test / n_train) s²``.

    Parameters
    ----------
    a, b : ndarray of shape (n_folds_total,)
        Scores of two representations on the same folds (all repeats).
    n_train, n_test : float
        Training and test set sizes (averages over folds).
    confidence : float
        Level of the confidence interval of the mean difference.

    Returns
    -------
    dict
        ``mean_diff`` (a - b), ``ci_low``, ``ci_high``, ``t``, ``df``, ``p`` (two-sided),
        ``n_folds``.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    d = d[np.isfinite(d)]
    j = len(d)
    mean = float(d.mean()) if j else float("nan")
    if j < 2:
        nan = float("nan")
        return {"mean_diff": mean, "ci_low": nan, "ci_high": nan, "t": nan, "df": nan,
                "p": nan, "n_folds": j}
    var = float(d.var(ddof=1))
    se = np.sqrt((1.0 / j + n_test / n_train) * var)
    df = j - 1
    if se == 0:
        t = 0.0 if mean == 0 else float(np.sign(mean) * np.inf)
        p = 1.0 if mean == 0 else 0.0
    else:
        t = mean / se
        p = float(2 * stats.t.sf(abs(t), df))
    half = float(stats.t.ppf(0.5 + confidence / 2, df) * se)
    return {"mean_diff": mean, "ci_low": mean - half, "ci_high": mean + half, "t": float(t),
            "df": df, "p": p, "n_folds": j}


def bootstrap_indices(
    groups: np.ndarray, n_boot: int, seed: int = 0
) -> list[np.ndarray]:
    """Row indices of ``n_boot`` bootstrap resamples drawn by group (person).

    Parameters
    ----------
    groups : ndarray of shape (n_rows,)
        Group of each row; whole groups are resampled with replacement.
    n_boot : int
        Number of resamples.
    seed : int
        Seed.

    Returns
    -------
    list of ndarray of int
    """
    rng = np.random.default_rng(seed)
    uniq, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(uniq))]
    out = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        out.append(np.concatenate([members[g] for g in pick]))
    return out


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    resamples: list[np.ndarray],
    *,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of ``statistic`` over bootstrap resamples (NaNs ignored).

    Parameters
    ----------
    statistic : callable
        Maps an index array to a number.
    resamples : list of ndarray
        From :func:`bootstrap_indices`.
    confidence : float
        Interval level.

    Returns
    -------
    (low, high)
    """
    values = np.array([statistic(idx) for idx in resamples], dtype=np.float64)
    return percentile_interval(values, confidence=confidence)


def percentile_interval(values: np.ndarray, *, confidence: float = 0.95) -> tuple[float, float]:
    """Central percentile interval of bootstrap values (NaNs ignored; NaN when none left).

    Parameters
    ----------
    values : ndarray of shape (n_boot,)
        Statistic over bootstrap resamples.
    confidence : float
        Interval level.

    Returns
    -------
    (low, high)
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


def permutation_pvalue(observed: float, null: np.ndarray) -> float:
    """One-sided permutation p-value ``(1 + #{null >= observed}) / (1 + n)``.

    Parameters
    ----------
    observed : float
        The score with the true labels (higher is better).
    null : ndarray of shape (n_permutations,)
        Scores with permuted labels.

    Returns
    -------
    float
    """
    null = np.asarray(null, dtype=np.float64)
    return float((1 + np.sum(null >= observed)) / (1 + len(null)))


def permute_labels(
    y: np.ndarray, groups: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Permute labels while respecting the grouping.

    When every group holds a single label (e.g. one diagnosis per person), labels are
    permuted between groups; otherwise rows are permuted within their group (e.g. the trials
    of one run).

    Parameters
    ----------
    y : ndarray of shape (n_rows,)
    groups : ndarray of shape (n_rows,)
    rng : Generator

    Returns
    -------
    ndarray of shape (n_rows,)
    """
    uniq, inverse = np.unique(groups, return_inverse=True)
    first = np.zeros(len(uniq), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(y))[::-1]
    per_group = y[first]
    if np.array_equal(per_group[inverse], y):
        return per_group[rng.permutation(len(uniq))][inverse]
    out = y.copy()
    for g in range(len(uniq)):
        rows = np.flatnonzero(inverse == g)
        out[rows] = y[rng.permutation(rows)]
    return out
