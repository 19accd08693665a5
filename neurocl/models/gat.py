"""Dense graph attention network (Velickovic et al. 2018) over the kept edges."""

from __future__ import annotations

from typing import Any

from torch import nn
from torch_geometric.nn import DenseGATConv

from neurocl._core.errors import ParameterError
from neurocl.models._dense_gnn import DenseGNNEncoder
from neurocl.models.registry import ENCODERS


@ENCODERS.register("gat")
class GATEncoder(DenseGNNEncoder):
    """Dense GAT: attention over each node's kept neighbours (edge weights set the pattern).

    Attention replaces the edge weights, so the sparsification rule decides which edges
    exist and ``none`` means attention over all nodes.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    heads : int
        Attention heads per layer; ``hidden`` must be divisible by it.
    **params
        Those of :class:`~neurocl.models.base.BrainGraphEncoder`.

    Examples
    --------
    >>> import torch
    >>> GATEncoder(n_nodes=7, hidden=16, layers=2)(torch.rand(3, 7, 7)).graph.shape
    torch.Size([3, 16])
    """

    def __init__(self, n_nodes: int, *, heads: int = 4, **params: Any) -> None:
        hidden = int(params.get("hidden", 64))
        if heads < 1 or hidden % heads:
            raise ParameterError(f"gat: hidden ({hidden}) must be divisible by heads ({heads})")
        self.heads = heads
        super().__init__(n_nodes, **params)

    def make_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """Return a :class:`torch_geometric.nn.DenseGATConv` with concatenated heads."""
        return DenseGATConv(in_channels, out_channels // self.heads, heads=self.heads)
