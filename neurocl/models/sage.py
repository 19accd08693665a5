"""Dense GraphSAGE (Hamilton et al. 2017) with weighted mean aggregation."""

from __future__ import annotations

from torch import nn
from torch_geometric.nn import DenseSAGEConv

from neurocl.models._dense_gnn import DenseGNNEncoder
from neurocl.models.registry import ENCODERS


@ENCODERS.register("sage", "graphsage")
class SAGEEncoder(DenseGNNEncoder):
    """Dense GraphSAGE: root weight plus the weighted mean of the neighbours.

    Parameters are those of :class:`~neurocl.models.base.BrainGraphEncoder`.

    Examples
    --------
    >>> import torch
    >>> SAGEEncoder(n_nodes=7, hidden=16, layers=2)(torch.rand(3, 7, 7)).nodes.shape
    torch.Size([3, 7, 16])
    """

    def make_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """Return a :class:`torch_geometric.nn.DenseSAGEConv`."""
        return DenseSAGEConv(in_channels, out_channels)
