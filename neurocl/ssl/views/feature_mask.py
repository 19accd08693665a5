"""``feature-mask``: hide random node-feature columns."""

from __future__ import annotations

import torch

from neurocl._core.errors import ParameterError
from neurocl.ssl.views.base import VIEWS, View, ViewBatch, check_probability
from neurocl.ssl.views.functional import mask_features


@VIEWS.register("feature-mask", "node-feature-mask", "attr-mask")
class FeatureMask(View):
    """Zero a random fraction ``p`` of the node-feature columns of each subject.

    Acts on node features, so it runs after the matrix views, on the features the encoder
    builds from the viewed matrices.

    Parameters
    ----------
    p : float in [0, 1)
        Fraction of feature columns hidden.
    """

    stage = "features"

    def __init__(self, p: float = 0.2) -> None:
        self.p = check_probability(p, "feature-mask p")

    def __call__(self, batch: ViewBatch, generator: torch.Generator | None = None) -> ViewBatch:
        """Return the batch with masked ``x`` (``x`` must be computed)."""
        if batch.x is None:
            raise ParameterError("feature-mask needs node features; apply it through ViewPipeline")
        return batch.replace(x=mask_features(batch.x, self.p, generator))
