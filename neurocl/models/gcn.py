"""Dense graph convolutional network (Kipf & Welling 2017) on weighted brain graphs."""

from __future__ import annotations

from torch import nn
from torch_geometric.nn import DenseGCNConv

from neurocl.models._dense_gnn import DenseGNNEncoder
from neurocl.models.registry import ENCODERS


@ENCODERS.register("gcn")
class GCNEncoder(DenseGNNEncoder):
    """Dense GCN: symmetric-normalised weighted propagation with self-loops.

    Parameters are those of :class:`~neurocl.models.base.BrainGraphEncoder`.

    Examples
    --------
    >>> import torch
    >>> enc = GCNEncoder(n_nodes=7, hidden=16, layers=2)
    >>> out = enc(torch.rand(3, 7, 7))
    >>> tuple(out.graph.shape), tuple(out.nodes.shape)
    ((3, 16), (3, 7, 16))
    """

    def make_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """Return a :class:`torch_geometric.nn.DenseGCNConv`."""
        return DenseGCNConv(in_channels, out_channels)
