"""Decoupled contrastive loss (DCL)."""

from __future__ import annotations

from neurocl.ssl.objectives._pairwise import PairwiseContrastive
from neurocl.ssl.objectives.base import OBJECTIVES
from neurocl.ssl.objectives.functional import dcl


@OBJECTIVES.register("dcl", "decoupled")
class DCLLoss(PairwiseContrastive):
    """Decoupled contrastive loss: InfoNCE without the positive in the denominator.

    Parameters are those of :class:`PairwiseContrastive` (temperature, hard_negatives,
    hard_pool).
    """

    loss_function = staticmethod(dcl)
