"""The projection head: used by the self-supervised loss, dropped for embeddings."""

from __future__ import annotations

import torch
from torch import nn


class ProjectionHead(nn.Module):
    """Two-layer MLP from the subject embedding to the space where the loss is computed.

    Parameters
    ----------
    in_dim : int
        Size of the subject embedding.
    hidden : int
        Width of the hidden layer.
    out_dim : int
        Size of the projection.
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Project (batch, in_dim) to (batch, out_dim)."""
        return self.net(h)
