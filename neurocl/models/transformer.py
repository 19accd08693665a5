"""A transformer over nodes: FC rows are the tokens, node identity a learned embedding."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neurocl._core.errors import ParameterError
from neurocl.models.base import BrainGraphEncoder
from neurocl.models.registry import ENCODERS


class _Block(nn.Module):
    """Pre-norm self-attention block with an additive per-head bias from the adjacency."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.edge_scale = nn.Parameter(torch.ones(heads))
        self.norm2 = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential(
            nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, hidden)
        )

    def forward(
        self, h: torch.Tensor, adj: torch.Tensor, key_mask: torch.Tensor | None
    ) -> torch.Tensor:
        b, n, _ = h.shape
        bias = adj.unsqueeze(1) * self.edge_scale.view(1, -1, 1, 1).to(adj.dtype)
        if key_mask is not None:
            bias = bias.masked_fill(~key_mask.bool().view(b, 1, 1, n), -1e4)
        bias = bias.reshape(b * self.heads, n, n).to(h.dtype)
        z = self.norm1(h)
        h = h + self.attn(z, z, z, attn_mask=bias, need_weights=False)[0]
        return h + self.mlp(self.norm2(h))


@ENCODERS.register("transformer", "graph-transformer")
class NodeTransformerEncoder(BrainGraphEncoder):
    """Transformer encoder whose tokens are the nodes (FC rows by default).

    Each token is the node's feature vector mapped to ``hidden`` plus a learned embedding of
    the node's identity; attention between two nodes gets a learned per-head bias times the
    (sparsified) edge weight, so the graph steers attention without limiting it.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    heads : int
        Attention heads; ``hidden`` must be divisible by it.
    **params
        Those of :class:`~neurocl.models.base.BrainGraphEncoder`.

    Examples
    --------
    >>> import torch
    >>> NodeTransformerEncoder(n_nodes=7, hidden=16, layers=2)(torch.rand(3, 7, 7)).graph.shape
    torch.Size([3, 16])
    """

    def __init__(self, n_nodes: int, *, heads: int = 4, **params: Any) -> None:
        hidden = int(params.get("hidden", 64))
        if heads < 1 or hidden % heads:
            raise ParameterError(
                f"transformer: hidden ({hidden}) must be divisible by heads ({heads})"
            )
        super().__init__(n_nodes, **params)
        self.embed = nn.Linear(self.in_features, self.hidden)
        self.position = nn.Parameter(torch.randn(self.n_nodes, self.hidden) * 0.02)
        self.blocks = nn.ModuleList(_Block(self.hidden, heads) for _ in range(self.layers))
        self.norm = nn.LayerNorm(self.hidden)

    def encode_nodes(
        self, x: torch.Tensor, adj: torch.Tensor, node_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Attend over nodes: (batch, n, in_features) -> (batch, n, hidden)."""
        h = self.embed(x) + self.position
        for block in self.blocks:
            h = block(h, adj, node_mask)
        return self.norm(h)
