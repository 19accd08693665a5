"""Evaluation of frozen representations: leakage-safe probes against honest baselines."""

from neurocl.evaluate.baselines import TangentSpace, prepare_covariances, raw_fc_features
from neurocl.evaluate.deconfound import Deconfounder, confound_matrix
from neurocl.evaluate.embeddings import align_embeddings, load_embeddings
from neurocl.evaluate.labels import Target, detect_task, prepare_target
from neurocl.evaluate.metrics import classification_scores, regression_scores, score
from neurocl.evaluate.probe import BASELINES, ProbeResult, probe
from neurocl.evaluate.probes import PROBES, make_probe
from neurocl.evaluate.splits import Fold, Grouping, make_folds, resolve_grouping
from neurocl.evaluate.stats import (
    bootstrap_ci,
    bootstrap_indices,
    corrected_resampled_ttest,
    percentile_interval,
    permutation_pvalue,
    permute_labels,
)

__all__ = [
    "BASELINES",
    "PROBES",
    "Deconfounder",
    "Fold",
    "Grouping",
    "ProbeResult",
    "TangentSpace",
    "Target",
    "align_embeddings",
    "bootstrap_ci",
    "bootstrap_indices",
    "classification_scores",
    "confound_matrix",
    "corrected_resampled_ttest",
    "detect_task",
    "load_embeddings",
    "make_folds",
    "make_probe",
    "percentile_interval",
    "permutation_pvalue",
    "permute_labels",
    "prepare_covariances",
    "prepare_target",
    "probe",
    "raw_fc_features",
    "regression_scores",
    "resolve_grouping",
    "score",
]
