"""NT-Xent / InfoNCE (SimCLR) for two views."""

from __future__ import annotations

from neurocl.ssl.objectives._pairwise import PairwiseContrastive
from neurocl.ssl.objectives.base import OBJECTIVES
from neurocl.ssl.objectives.functional import nt_xent


@OBJECTIVES.register("ntxent", "nt-xent", "infonce", "simclr")
class NTXentLoss(PairwiseContrastive):
    """NT-Xent / InfoNCE with temperature, optionally with mixed hard negatives.

    Parameters are those of :class:`PairwiseContrastive` (temperature, hard_negatives,
    hard_pool).
    """

    loss_function = staticmethod(nt_xent)
