"""Dense graph isomorphism network (Xu et al. 2019) on weighted brain graphs."""

from __future__ import annotations

from torch import nn
from torch_geometric.nn import DenseGINConv

from neurocl.models._dense_gnn import DenseGNNEncoder
from neurocl.models.registry import ENCODERS


@ENCODERS.register("gin")
class GINEncoder(DenseGNNEncoder):
    """Dense GIN: ``MLP((1 + eps) x + A x)`` with a learned ``eps`` and weighted ``A``.

    Parameters are those of :class:`~neurocl.models.base.BrainGraphEncoder`.

    Examples
    --------
    >>> import torch
    >>> enc = GINEncoder(n_nodes=7, hidden=16, layers=2)
    >>> enc(torch.rand(3, 7, 7)).graph.shape
    torch.Size([3, 16])
    """

    def make_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """Return a :class:`torch_geometric.nn.DenseGINConv` with a two-layer MLP."""
        mlp = nn.Sequential(
            nn.Linear(in_channels, out_channels),
            nn.ReLU(),
            nn.Linear(out_channels, out_channels),
        )
        return DenseGINConv(mlp, train_eps=True)
