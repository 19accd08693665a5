"""Helpers shared by the encoders of sequences: positional encoding, a transformer stack."""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_positions(length: int, dim: int, *, device: torch.device | None = None,
                         dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Return the fixed sine/cosine positional encoding (Vaswani et al. 2017).

    Works for any sequence length, so a model trained on 28 windows embeds 40 as well.

    Parameters
    ----------
    length : int
        Number of positions.
    dim : int
        Embedding size.
    device, dtype
        Of the result.

    Returns
    -------
    Tensor of shape (length, dim)
    """
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    out = torch.zeros(length, dim, device=device, dtype=torch.float32)
    out[:, 0::2] = torch.sin(position * freq)
    out[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return out.to(dtype)


def transformer_stack(hidden: int, heads: int, layers: int, dropout: float = 0.0) -> nn.Module:
    """Pre-norm transformer encoder over (batch, length, hidden) tokens."""
    layer = nn.TransformerEncoderLayer(
        hidden, heads, dim_feedforward=2 * hidden, dropout=dropout, activation="gelu",
        batch_first=True, norm_first=True,
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def masked_mean(tokens: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``tokens`` (batch, length, dim) over the positions where ``keep`` is True."""
    if keep is None:
        return tokens.mean(1)
    k = keep.to(tokens.dtype).unsqueeze(-1)
    return (tokens * k).sum(1) / k.sum(1).clamp(min=1)
