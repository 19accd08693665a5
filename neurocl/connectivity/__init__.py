"""Functional-connectivity estimators: static, dynamic (sliding window) and EEG spectral."""

from neurocl.connectivity.dynamic import dynamic_connectivity, n_windows, sliding_windows
from neurocl.connectivity.spectral import (
    DEFAULT_BANDS,
    SPECTRAL_METHODS,
    Band,
    parse_bands,
    spectral_connectivity,
)
from neurocl.connectivity.static import (
    KINDS,
    ConnectivityEstimator,
    connectivity,
    cov_to_corr,
    fisher_z,
    geometric_mean,
    ledoit_wolf,
    prec_to_partial,
)

__all__ = [
    "DEFAULT_BANDS",
    "KINDS",
    "SPECTRAL_METHODS",
    "Band",
    "ConnectivityEstimator",
    "connectivity",
    "cov_to_corr",
    "dynamic_connectivity",
    "fisher_z",
    "geometric_mean",
    "ledoit_wolf",
    "parse_bands",
    "n_windows",
    "prec_to_partial",
    "sliding_windows",
    "spectral_connectivity",
]
