"""``edge-noise``: perturb edge weights with Gaussian noise."""

from __future__ import annotations

import torch

from neurocl._core.errors import ParameterError
from neurocl.ssl.views.base import VIEWS, View, ViewBatch
from neurocl.ssl.views.functional import edge_noise


@VIEWS.register("edge-noise", "edge-weight-noise")
class EdgeNoise(View):
    """Add symmetric Gaussian noise to the off-diagonal FC weights.

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise, in FC units.
    """

    def __init__(self, sigma: float = 0.1) -> None:
        if not sigma >= 0:
            raise ParameterError(f"edge-noise sigma must be >= 0; got {sigma!r}")
        self.sigma = float(sigma)

    def __call__(self, batch: ViewBatch, generator: torch.Generator | None = None) -> ViewBatch:
        """Return the batch with noisy ``fc``."""
        fc = edge_noise(batch.fc, self.sigma, generator)
        if batch.node_mask is not None:
            k = batch.node_mask.to(fc.dtype)
            fc = fc * k.unsqueeze(-1) * k.unsqueeze(-2)
        return batch.replace(fc=fc, x=None)
