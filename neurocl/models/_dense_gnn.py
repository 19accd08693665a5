"""Shared frame of the dense message-passing encoders (GCN, GIN, GraphSAGE, GAT)."""

from __future__ import annotations

import abc
from typing import Any

import torch
from torch import nn

from neurocl.models.base import BrainGraphEncoder, NodeNorm


class DenseGNNEncoder(BrainGraphEncoder):
    """Stack of dense graph convolutions, each followed by normalisation and ReLU.

    Subclasses define :meth:`make_conv`; see :class:`BrainGraphEncoder` for the parameters.
    """

    def __init__(self, n_nodes: int, **params: Any) -> None:
        super().__init__(n_nodes, **params)
        dims = [self.in_features] + [self.hidden] * self.layers
        self.convs = nn.ModuleList(
            self.make_conv(dims[i], dims[i + 1]) for i in range(self.layers)
        )
        self.norms = nn.ModuleList(NodeNorm(self.norm_kind, self.hidden) for _ in self.convs)

    @abc.abstractmethod
    def make_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """Return one dense convolution layer."""

    def encode_nodes(
        self, x: torch.Tensor, adj: torch.Tensor, node_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Run the convolutions: (batch, n, in_features) -> (batch, n, hidden)."""
        h = x
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = torch.relu(norm(conv(h, adj, mask=node_mask)))
        return h
