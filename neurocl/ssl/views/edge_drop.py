"""``edge-drop``: remove a random fraction of edges."""

from __future__ import annotations

import torch

from neurocl.ssl.views.base import VIEWS, View, ViewBatch, check_probability
from neurocl.ssl.views.functional import drop_edges


@VIEWS.register("edge-drop", "drop-edges")
class EdgeDrop(View):
    """Set each edge (both directions) to zero with probability ``p``.

    Parameters
    ----------
    p : float in [0, 1)
        Drop probability.
    """

    def __init__(self, p: float = 0.2) -> None:
        self.p = check_probability(p, "edge-drop p")

    def __call__(self, batch: ViewBatch, generator: torch.Generator | None = None) -> ViewBatch:
        """Return the batch with edges dropped from ``fc``."""
        return batch.replace(fc=drop_edges(batch.fc, self.p, generator), x=None)
