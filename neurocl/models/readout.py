"""Readouts: from node embeddings (batch, n_nodes, hidden) to a subject embedding.

Every subject has the same nodes, so readouts that keep node identity (``flatten``,
``node-weights``) are the default; mean/sum/max pooling throw the atlas away.
"""

from __future__ import annotations

import abc

import torch
from torch import nn

from neurocl._core.registry import Registry

READOUTS: Registry[type[nn.Module]] = Registry("readout")


def _masked(nodes: torch.Tensor, node_mask: torch.Tensor | None) -> torch.Tensor:
    if node_mask is None:
        return nodes
    return nodes * node_mask.unsqueeze(-1).to(nodes.dtype)


@READOUTS.register("flatten", "n2g", "node-to-graph")
class FlattenReadout(nn.Module):
    """Concatenate the node embeddings in atlas order, then a linear map to ``out_dim``.

    This is BrainNetCNN's node-to-graph layer: one weight per (node, channel, output).
    """

    def __init__(self, n_nodes: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_nodes * hidden, out_dim)

    def forward(self, nodes: torch.Tensor, node_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Map (batch, n_nodes, hidden) to (batch, out_dim)."""
        return self.linear(_masked(nodes, node_mask).flatten(1))


@READOUTS.register("node-weights")
class NodeWeightReadout(nn.Module):
    """Weighted sum over nodes with a learned weight per node and channel, then linear."""

    def __init__(self, n_nodes: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((n_nodes, hidden), 1.0 / n_nodes))
        self.linear = nn.Linear(hidden, out_dim)

    def forward(self, nodes: torch.Tensor, node_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Map (batch, n_nodes, hidden) to (batch, out_dim)."""
        return self.linear((_masked(nodes, node_mask) * self.weight).sum(1))


class _PoolReadout(nn.Module, abc.ABC):
    def __init__(self, n_nodes: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden, out_dim)

    @abc.abstractmethod
    def pool(self, nodes: torch.Tensor, node_mask: torch.Tensor | None) -> torch.Tensor:
        """Pool node embeddings (batch, n_nodes, hidden) to (batch, hidden)."""

    def forward(self, nodes: torch.Tensor, node_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Map (batch, n_nodes, hidden) to (batch, out_dim)."""
        return self.linear(self.pool(nodes, node_mask))


@READOUTS.register("mean")
class MeanReadout(_PoolReadout):
    """Mean over the kept nodes, then linear (ignores node identity)."""

    def pool(self, nodes: torch.Tensor, node_mask: torch.Tensor | None) -> torch.Tensor:
        """Average (batch, n_nodes, hidden) over nodes."""
        if node_mask is None:
            return nodes.mean(1)
        count = node_mask.sum(1, keepdim=True).clamp(min=1).to(nodes.dtype)
        return _masked(nodes, node_mask).sum(1) / count


@READOUTS.register("sum")
class SumReadout(_PoolReadout):
    """Sum over the kept nodes, then linear (ignores node identity)."""

    def pool(self, nodes: torch.Tensor, node_mask: torch.Tensor | None) -> torch.Tensor:
        """Sum (batch, n_nodes, hidden) over nodes."""
        return _masked(nodes, node_mask).sum(1)


@READOUTS.register("max")
class MaxReadout(_PoolReadout):
    """Maximum over the kept nodes, then linear (ignores node identity)."""

    def pool(self, nodes: torch.Tensor, node_mask: torch.Tensor | None) -> torch.Tensor:
        """Maximum of (batch, n_nodes, hidden) over nodes."""
        if node_mask is not None:
            nodes = nodes.masked_fill(~node_mask.bool().unsqueeze(-1), float("-inf"))
        return nodes.amax(1)


def build_readout(name: str, n_nodes: int, hidden: int, out_dim: int) -> nn.Module:
    """Build the readout registered as ``name``."""
    return READOUTS.get(name)(n_nodes, hidden, out_dim)
