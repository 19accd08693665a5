"""Shared base of the two-view InfoNCE-family objectives (NT-Xent, DCL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch

from neurocl._core.validation import check_positive
from neurocl.ssl.objectives.base import Objective


class PairwiseContrastive(Objective):
    """Two-view contrastive loss with temperature and optional mixed hard negatives.

    Subclasses name the pure loss function in ``loss_function``.

    Parameters
    ----------
    temperature : float
        Softmax temperature.
    hard_negatives : int
        Synthetic hard negatives of each kind per anchor (MoCHi mixing); 0 turns it off.
    hard_pool : int
        Number of hardest negatives that are mixed.
    """

    loss_function: ClassVar[Callable[..., torch.Tensor]]

    def __init__(self, temperature: float = 0.2, hard_negatives: int = 0, hard_pool: int = 16):
        self.temperature = float(check_positive(temperature, "temperature"))
        self.hard_negatives = int(check_positive(hard_negatives, "hard_negatives", strict=False))
        self.hard_pool = int(check_positive(hard_pool, "hard_pool"))

    def __call__(
        self, views: list[torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Loss of two projected views (batch, dim)."""
        self.check_views(len(views))
        return type(self).loss_function(
            views[0], views[1], self.temperature, hard_negatives=self.hard_negatives,
            hard_pool=self.hard_pool, generator=generator,
        )
