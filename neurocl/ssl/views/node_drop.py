"""``node-drop``: remove random nodes."""

from __future__ import annotations

import torch

from neurocl.ssl.views.base import VIEWS, View, ViewBatch, check_probability
from neurocl.ssl.views.functional import drop_nodes


@VIEWS.register("node-drop", "drop-nodes")
class NodeDrop(View):
    """Drop each node with probability ``p``: its edges are zeroed and it is masked out.

    Parameters
    ----------
    p : float in [0, 1)
        Drop probability.
    """

    def __init__(self, p: float = 0.1) -> None:
        self.p = check_probability(p, "node-drop p")

    def __call__(self, batch: ViewBatch, generator: torch.Generator | None = None) -> ViewBatch:
        """Return the batch with nodes dropped from ``fc`` and ``node_mask``."""
        fc, mask = drop_nodes(batch.fc, self.p, batch.node_mask, generator)
        return batch.replace(fc=fc, node_mask=mask, x=None)
