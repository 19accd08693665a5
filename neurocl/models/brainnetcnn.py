"""BrainNetCNN (Kawahara et al. 2017): convolutions shaped for connectivity matrices."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neurocl.models.base import BrainGraphEncoder, NodeNorm
from neurocl.models.registry import ENCODERS


class EdgeToEdge(nn.Module):
    """Edge-to-edge filter: each edge sees the edges of its two end nodes.

    ``out[b, o, i, j] = sum_c sum_k r[o, c, k] A[b, c, i, k] + s[o, c, k] A[b, c, k, j]``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and output matrices.
    n_nodes : int
        Matrix size.
    """

    def __init__(self, in_channels: int, out_channels: int, n_nodes: int) -> None:
        super().__init__()
        self.row = nn.Conv2d(in_channels, out_channels, (1, n_nodes))
        self.col = nn.Conv2d(in_channels, out_channels, (n_nodes, 1), bias=False)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """Map (batch, in_channels, n, n) to (batch, out_channels, n, n)."""
        return self.row(a) + self.col(a)


class EdgeToNode(nn.Module):
    """Edge-to-node filter: each node summarises its row and column of edges.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input matrices and of the node embeddings.
    n_nodes : int
        Matrix size.
    """

    def __init__(self, in_channels: int, out_channels: int, n_nodes: int) -> None:
        super().__init__()
        self.row = nn.Conv2d(in_channels, out_channels, (1, n_nodes))
        self.col = nn.Conv2d(in_channels, out_channels, (n_nodes, 1), bias=False)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """Map (batch, in_channels, n, n) to node embeddings (batch, n, out_channels)."""
        return (self.row(a)[..., 0] + self.col(a)[..., 0, :]).transpose(1, 2)


@ENCODERS.register("brainnetcnn", "bnc")
class BrainNetCNNEncoder(BrainGraphEncoder):
    """BrainNetCNN: ``layers - 1`` edge-to-edge layers, an edge-to-node layer, a readout.

    The input is the (sparsified) FC matrix itself, so node features are not used. The
    default ``flatten`` readout is the node-to-graph layer of the paper (one weight per node
    and channel). Leaky ReLU (slope 0.33) follows each layer, as in the paper.

    Parameters are those of :class:`~neurocl.models.base.BrainGraphEncoder`.

    Examples
    --------
    >>> import torch
    >>> enc = BrainNetCNNEncoder(n_nodes=7, hidden=8, layers=2)
    >>> out = enc(torch.rand(3, 7, 7))
    >>> tuple(out.graph.shape), tuple(out.nodes.shape)
    ((3, 8), (3, 7, 8))
    """

    uses_node_features = False

    def __init__(self, n_nodes: int, **params: Any) -> None:
        super().__init__(n_nodes, **params)
        channels = [1] + [self.hidden] * (self.layers - 1)
        self.e2e = nn.ModuleList(
            EdgeToEdge(channels[i], channels[i + 1], self.n_nodes)
            for i in range(self.layers - 1)
        )
        self.e2n = EdgeToNode(channels[-1], self.hidden, self.n_nodes)
        self.norm = NodeNorm(self.norm_kind, self.hidden)
        self.act = nn.LeakyReLU(0.33)

    def featurize(self, fc: torch.Tensor, adj: torch.Tensor | None = None) -> torch.Tensor:
        """Return the sparsified matrix rows (the encoder reads the matrix, not features)."""
        return self.adjacency(fc) if adj is None else adj

    def encode_nodes(
        self, x: torch.Tensor, adj: torch.Tensor, node_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Convolve the matrix ``adj`` (batch, n, n) into node embeddings (batch, n, hidden)."""
        a = adj.unsqueeze(1)
        for layer in self.e2e:
            a = self.act(layer(a))
        return self.act(self.norm(self.e2n(a)))
