"""Tensor operations behind the views; each returns a new tensor and leaves its input alone."""

from __future__ import annotations

import torch


def crop_starts(
    lengths: torch.Tensor, length: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw a random start for a segment of ``length`` samples in each signal.

    Parameters
    ----------
    lengths : Tensor of shape (batch,)
        Valid time points of each signal.
    length : int
        Segment length (at most ``lengths.min()``).
    generator : torch.Generator, optional
        Random source on the device of ``lengths``.

    Returns
    -------
    Tensor of shape (batch,), int64
    """
    room = (lengths - length + 1).to(torch.float64)
    u = torch.rand(lengths.shape, generator=generator, device=lengths.device, dtype=torch.float64)
    return torch.floor(u * room).to(torch.int64)


def segment(timeseries: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """Cut ``timeseries[b, starts[b]:starts[b] + length]`` from every signal.

    Parameters
    ----------
    timeseries : Tensor of shape (batch, n_times, n_nodes)
    starts : Tensor of shape (batch,)
    length : int

    Returns
    -------
    Tensor of shape (batch, length, n_nodes)
    """
    idx = starts.unsqueeze(1) + torch.arange(length, device=timeseries.device)
    return torch.gather(timeseries, 1, idx.unsqueeze(-1).expand(-1, -1, timeseries.shape[-1]))


def pearson(timeseries: torch.Tensor, fisher_z: bool = False, eps: float = 1e-8) -> torch.Tensor:
    """Pearson correlation of every signal, batched: (batch, time, n) -> (batch, n, n).

    The diagonal is 1 (0 after the Fisher z-transform); a constant signal correlates 0 with
    the others.

    Parameters
    ----------
    timeseries : Tensor of shape (batch, n_times, n_nodes)
    fisher_z : bool
        Apply ``arctanh`` (values clipped to 1 - 1e-7) and zero the diagonal.
    eps : float
        Floor on the standard deviation.

    Returns
    -------
    Tensor of shape (batch, n_nodes, n_nodes), float32 or the input's floating type
    """
    x = timeseries.float() if not timeseries.is_floating_point() else timeseries
    xc = x - x.mean(dim=1, keepdim=True)
    norm = xc.square().sum(dim=1).sqrt().clamp(min=eps)
    xn = xc / norm.unsqueeze(1)
    corr = (xn.mT @ xn).clamp(-1.0, 1.0)
    diag = torch.eye(corr.shape[-1], dtype=torch.bool, device=corr.device)
    if fisher_z:
        corr = torch.atanh(corr.clamp(-1 + 1e-7, 1 - 1e-7))
        return corr.masked_fill(diag, 0.0)
    return corr.masked_fill(diag, 1.0)


def _symmetric_uniform(
    shape: tuple[int, int, int], generator: torch.Generator | None, like: torch.Tensor
) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)
    upper = torch.triu(u, diagonal=1)
    return upper + upper.mT


def drop_edges(
    fc: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Set each off-diagonal edge to zero with probability ``p`` (both directions together).

    Parameters
    ----------
    fc : Tensor of shape (batch, n, n)
    p : float in [0, 1)

    Returns
    -------
    Tensor of shape (batch, n, n)
    """
    u = _symmetric_uniform(tuple(fc.shape), generator, fc)  # type: ignore[arg-type]
    diag = torch.eye(fc.shape[-1], dtype=torch.bool, device=fc.device)
    keep = (u >= p) | diag
    return fc * keep.to(fc.dtype)


def edge_noise(
    fc: torch.Tensor, sigma: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Add symmetric Gaussian noise of standard deviation ``sigma`` to off-diagonal weights.

    Parameters
    ----------
    fc : Tensor of shape (batch, n, n)
    sigma : float

    Returns
    -------
    Tensor of shape (batch, n, n)
    """
    noise = torch.randn(fc.shape, generator=generator, device=fc.device, dtype=fc.dtype)
    upper = torch.triu(noise, diagonal=1) * sigma
    return fc + upper + upper.mT


def drop_nodes(
    fc: torch.Tensor,
    p: float,
    node_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop each node with probability ``p``: zero its row and column, mark it in a mask.

    Parameters
    ----------
    fc : Tensor of shape (batch, n, n)
    p : float in [0, 1)
    node_mask : Tensor of shape (batch, n), bool, optional
        Nodes already dropped stay dropped.

    Returns
    -------
    fc : Tensor of shape (batch, n, n)
    node_mask : Tensor of shape (batch, n), bool (True = kept)
    """
    keep = torch.rand(fc.shape[:2], generator=generator, device=fc.device) >= p
    if node_mask is not None:
        keep = keep & node_mask.bool()
    k = keep.to(fc.dtype)
    return fc * k.unsqueeze(-1) * k.unsqueeze(-2), keep


def mask_features(
    x: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero a random fraction ``p`` of the feature columns of each subject (all nodes alike).

    Parameters
    ----------
    x : Tensor of shape (batch, n_nodes, n_features)
    p : float in [0, 1)

    Returns
    -------
    Tensor of shape (batch, n_nodes, n_features)
    """
    keep = torch.rand((x.shape[0], 1, x.shape[2]), generator=generator, device=x.device) >= p
    return x * keep.to(x.dtype)
