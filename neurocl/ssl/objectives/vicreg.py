"""VICReg: the non-contrastive reference."""

from __future__ import annotations

import itertools

import torch

from neurocl._core.validation import check_positive
from neurocl.ssl.objectives.base import OBJECTIVES, Objective
from neurocl.ssl.objectives.functional import vicreg


@OBJECTIVES.register("vicreg")
class VICRegLoss(Objective):
    """Variance-invariance-covariance regularisation; with V > 2 views, the mean over pairs.

    Parameters
    ----------
    sim_weight, var_weight, cov_weight : float
        Weights of the invariance, variance and covariance terms (25, 25, 1 as in the paper).
    """

    max_views = None

    def __init__(self, sim_weight: float = 25.0, var_weight: float = 25.0, cov_weight: float = 1.0):
        self.sim_weight = float(check_positive(sim_weight, "sim_weight", strict=False))
        self.var_weight = float(check_positive(var_weight, "var_weight", strict=False))
        self.cov_weight = float(check_positive(cov_weight, "cov_weight", strict=False))

    def __call__(
        self, views: list[torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Loss of ``V >= 2`` projected views (batch, dim)."""
        self.check_views(len(views))
        pairs = list(itertools.combinations(views, 2))
        losses = [
            vicreg(a, b, self.sim_weight, self.var_weight, self.cov_weight) for a, b in pairs
        ]
        return torch.stack(losses).mean()
