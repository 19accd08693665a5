"""NT-Xent / InfoNCE (SimCLR) for two views."""

from __future__ import annotations

import torch

from neurocl._core.validation import check_positive
from neurocl.ssl.objectives.base import OBJECTIVES, Objective
from neurocl.ssl.objectives.functional import nt_xent


@OBJECTIVES.register("ntxent", "nt-xent", "infonce", "simclr")
class NTXentLoss(Objective):
    """NT-Xent / InfoNCE with temperature, optionally with mixed hard negatives.

    Parameters
    ----------
    temperature : float
        Softmax temperature.
    hard_negatives : int
        Synthetic hard negatives of each kind per anchor (MoCHi mixing); 0 turns it off.
    hard_pool : int
        Number of hardest negatives that are mixed.
    """

    def __init__(self, temperature: float = 0.2, hard_negatives: int = 0, hard_pool: int = 16):
        self.temperature = float(check_positive(temperature, "temperature"))
        self.hard_negatives = int(check_positive(hard_negatives, "hard_negatives", strict=False))
        self.hard_pool = int(check_positive(hard_pool, "hard_pool"))

    def __call__(
        self, views: list[torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Loss of two projected views (batch, dim)."""
        self.check_views(len(views))
        return nt_xent(
            views[0], views[1], self.temperature, hard_negatives=self.hard_negatives,
            hard_pool=self.hard_pool, generator=generator,
        )
