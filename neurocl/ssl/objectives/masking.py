"""Masks and reconstruction errors of the generative objectives, as pure tensor functions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from neurocl._core.errors import ParameterError


def check_ratio(value: float, name: str = "mask_ratio") -> float:
    """Raise :class:`ParameterError` unless ``0 < value < 1``."""
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number in (0, 1); got {value!r}") from None
    if not 0 < ratio < 1:
        raise ParameterError(f"{name} must be in (0, 1), e.g. --mask-ratio 0.5; got {value!r}")
    return ratio


def n_masked(n: int, ratio: float) -> int:
    """Return how many of ``n`` items are masked at ``ratio`` (rounded, in [1, n - 1])."""
    if n < 2:
        raise ParameterError(f"masking needs at least 2 items to mask some and keep some; got {n}")
    return int(min(max(round(ratio * n), 1), n - 1))


def random_mask(
    batch: int,
    n: int,
    ratio: float,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Mask exactly ``n_masked(n, ratio)`` of ``n`` items in every row, chosen at random.

    Parameters
    ----------
    batch, n : int
        Rows and items per row.
    ratio : float in (0, 1)
        Fraction masked.
    generator : torch.Generator, optional
        Random source on ``device``.
    device : torch.device, optional

    Returns
    -------
    Tensor of shape (batch, n), bool
        True for masked items.
    """
    k = n_masked(n, ratio)
    score = torch.rand((batch, n), generator=generator, device=device)
    rank = score.argsort(dim=1).argsort(dim=1)
    return rank < k


def random_edge_mask(
    batch: int,
    n_nodes: int,
    ratio: float,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Mask a fraction ``ratio`` of the off-diagonal node pairs of each graph, symmetrically.

    Returns
    -------
    Tensor of shape (batch, n_nodes, n_nodes), bool
        True for masked edges (both directions); the diagonal is never masked.
    """
    iu = torch.triu_indices(n_nodes, n_nodes, offset=1, device=device)
    upper = random_mask(batch, iu.shape[1], ratio, generator=generator, device=device)
    out = torch.zeros((batch, n_nodes, n_nodes), dtype=torch.bool, device=device)
    out[:, iu[0], iu[1]] = upper
    return out | out.mT


def scaled_cosine_error(
    pred: torch.Tensor, target: torch.Tensor, alpha: float = 2.0
) -> torch.Tensor:
    """Scaled cosine error of GraphMAE (Hou et al. 2022): ``mean((1 - cos(pred, target))^alpha)``.

    Parameters
    ----------
    pred, target : Tensor of shape (n_items, dim)
        Reconstructions and targets, one row per masked item.
    alpha : float
        Scaling exponent (>= 1); larger values down-weight easy items.

    Returns
    -------
    Tensor, scalar
        0 for a perfect reconstruction (up to scale), positive otherwise.
    """
    cos = F.cosine_similarity(pred.float(), target.float(), dim=-1, eps=1e-8)
    return (1 - cos).clamp(min=0).pow(alpha).mean()


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the entries where ``mask`` is True (any shape, broadcast)."""
    mask = mask.expand_as(target)
    diff = (pred.float() - target.float()).square()
    return diff[mask].mean()


def low_rank_matrix(u: torch.Tensor, v: torch.Tensor, signs: torch.Tensor) -> torch.Tensor:
    """Bilinear reconstruction ``u diag(signs) v^T`` of (..., n, d) codes: (..., n, n).

    ``signs`` of shape (d,) lets the product be indefinite, as FC matrices are.
    """
    return torch.einsum("...id,d,...jd->...ij", u, signs.to(u.dtype), v)
