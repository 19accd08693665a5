"""Learning-rate schedule: linear warm-up, then cosine decay to zero."""

from __future__ import annotations

import math

import torch


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based).

    Parameters
    ----------
    step : int
        Optimiser steps done.
    warmup_steps : int
        Linear ramp from ``1 / warmup_steps`` to 1.
    total_steps : int
        The multiplier reaches 0 at ``total_steps``.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> [round(warmup_cosine(s, 2, 6), 3) for s in range(6)]
    [0.5, 1.0, 1.0, 0.75, 0.25, 0.0]
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps - 1, 1)
    progress = min((step - warmup_steps) / span, 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Return a per-step :class:`~torch.optim.lr_scheduler.LambdaLR` of :func:`warmup_cosine`."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_cosine(step, warmup_steps, total_steps)
    )
