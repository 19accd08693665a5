"""Self-supervised losses as pure functions of the projected views.

Every function takes projections of shape (batch, dim) (one per view) and returns a scalar.
Rows with the same index in different views come from the same subject (positives); every
other row of the batch is a negative.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _similarities(views: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cosine similarities of all rows of all views, with positive and negative masks.

    Returns
    -------
    z : Tensor of shape (n_views * batch, dim), unit rows
    sim : Tensor of shape (n_views * batch, n_views * batch)
    positive : bool Tensor of the same shape (same subject, other view)
    """
    batch = views[0].shape[0]
    z = F.normalize(torch.cat([v.float() for v in views]), dim=1)
    sim = z @ z.T
    subject = torch.arange(batch, device=z.device).repeat(len(views))
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    positive = (subject.unsqueeze(0) == subject.unsqueeze(1)) & ~eye
    return z, sim, positive


def mixed_hard_negatives(
    z: torch.Tensor,
    sim: torch.Tensor,
    negative: torch.Tensor,
    n_mix: int,
    pool: int = 16,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Synthesise hard negatives by mixing (MoCHi, Kalantidis et al. 2020).

    For each anchor, the ``pool`` most similar negatives are the hard ones; ``n_mix``
    negatives are convex mixtures of two of them and ``n_mix`` more mix the anchor itself
    with one of them (anchor weight below 0.5). They are normalised and detached.

    Parameters
    ----------
    z : Tensor of shape (n_rows, dim)
        Unit-norm projections.
    sim : Tensor of shape (n_rows, n_rows)
        Cosine similarities of ``z``.
    negative : bool Tensor of shape (n_rows, n_rows)
        Which pairs are negatives.
    n_mix : int
        Mixtures of each kind per anchor.
    pool : int
        Number of hardest negatives mixed.
    generator : torch.Generator, optional
        Random source on ``z``'s device.

    Returns
    -------
    Tensor of shape (n_rows, 2 * n_mix)
        Cosine similarity of each anchor with its synthetic negatives.
    """
    rows, dev = z.shape[0], z.device
    k = int(min(pool, int(negative.sum(1).min())))
    if n_mix <= 0 or k < 1:
        return z.new_zeros((rows, 0))
    hard_idx = sim.detach().masked_fill(~negative, float("-inf")).topk(k, dim=1).indices
    hard = z.detach()[hard_idx]  # (rows, k, dim)

    def pick() -> torch.Tensor:
        i = torch.randint(k, (rows, n_mix), generator=generator, device=dev)
        return torch.gather(hard, 1, i.unsqueeze(-1).expand(-1, -1, z.shape[1]))

    alpha = torch.rand((rows, n_mix, 1), generator=generator, device=dev)
    pairs = alpha * pick() + (1 - alpha) * pick()
    beta = 0.5 * torch.rand((rows, n_mix, 1), generator=generator, device=dev)
    with_anchor = beta * z.detach().unsqueeze(1) + (1 - beta) * pick()
    synthetic = F.normalize(torch.cat([pairs, with_anchor], dim=1), dim=-1)
    return torch.einsum("rd,rmd->rm", z, synthetic)


def nt_xent(
    z1: torch.Tensor,
    z2: torch.Tensor,
    temperature: float = 0.2,
    *,
    hard_negatives: int = 0,
    hard_pool: int = 16,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """NT-Xent / InfoNCE loss of SimCLR for two views.

    For each of the ``2 B`` rows ``i`` with positive ``p(i)``:
    ``l_i = -log(exp(s_ip / t) / sum_{k != i} exp(s_ik / t))``, averaged.

    Parameters
    ----------
    z1, z2 : Tensor of shape (batch, dim)
        Projections of the two views; row ``b`` of both comes from subject ``b``.
    temperature : float
        Softmax temperature ``t``.
    hard_negatives : int
        Synthetic hard negatives of each kind per anchor (0: none), see
        :func:`mixed_hard_negatives`.
    hard_pool : int
        Hardest negatives mixed.
    generator : torch.Generator, optional
        Random source for the mixing.

    Returns
    -------
    Tensor, scalar
    """
    return multiview_infonce(
        [z1, z2], temperature, hard_negatives=hard_negatives, hard_pool=hard_pool,
        generator=generator,
    )


def multiview_infonce(
    views: list[torch.Tensor],
    temperature: float = 0.2,
    *,
    hard_negatives: int = 0,
    hard_pool: int = 16,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """InfoNCE over ``V >= 2`` views: each row has ``V - 1`` positives.

    ``l_i = -1/(V-1) sum_{p in P(i)} log(exp(s_ip / t) / sum_{k != i} exp(s_ik / t))``;
    for ``V = 2`` this is :func:`nt_xent`.

    Parameters
    ----------
    views : list of Tensor of shape (batch, dim)
        Projections of each view.
    temperature : float
        Softmax temperature.
    hard_negatives, hard_pool, generator
        Hard-negative mixing, as in :func:`nt_xent`.

    Returns
    -------
    Tensor, scalar
    """
    z, sim, positive = _similarities(views)
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = (sim / temperature).masked_fill(eye, float("-inf"))
    extra = mixed_hard_negatives(z, sim, ~positive & ~eye, hard_negatives, hard_pool, generator)
    log_norm = torch.logsumexp(torch.cat([logits, extra / temperature], dim=1), dim=1)
    pos_logit = (logits.masked_fill(~positive, 0.0)).sum(1) / positive.sum(1)
    return (log_norm - pos_logit).mean()


def dcl(
    z1: torch.Tensor,
    z2: torch.Tensor,
    temperature: float = 0.2,
    *,
    hard_negatives: int = 0,
    hard_pool: int = 16,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Decoupled contrastive loss (Yeh et al. 2022): the positive leaves the denominator.

    ``l_i = -s_ip / t + log sum_{k not in {i, p(i)}} exp(s_ik / t)``, averaged over the
    ``2 B`` rows.

    Parameters
    ----------
    z1, z2 : Tensor of shape (batch, dim)
        Projections of the two views.
    temperature : float
        Softmax temperature.
    hard_negatives, hard_pool, generator
        Hard-negative mixing, as in :func:`nt_xent`.

    Returns
    -------
    Tensor, scalar
    """
    z, sim, positive = _similarities([z1, z2])
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    negative = ~positive & ~eye
    logits = (sim / temperature).masked_fill(~negative, float("-inf"))
    extra = mixed_hard_negatives(z, sim, negative, hard_negatives, hard_pool, generator)
    log_neg = torch.logsumexp(torch.cat([logits, extra / temperature], dim=1), dim=1)
    pos = (sim / temperature).masked_fill(~positive, 0.0).sum(1)
    return (log_neg - pos).mean()


def vicreg(
    z1: torch.Tensor,
    z2: torch.Tensor,
    sim_weight: float = 25.0,
    var_weight: float = 25.0,
    cov_weight: float = 1.0,
    eps: float = 1e-4,
) -> torch.Tensor:
    """VICReg (Bardes et al. 2022): invariance, variance and covariance terms, no negatives.

    ``sim_weight * mse(z1, z2) + var_weight * (v(z1) + v(z2)) / 2 + cov_weight * (c(z1) + c(z2))``
    with ``v(z) = mean_j relu(1 - sqrt(var_j(z) + eps))`` and ``c(z)`` the sum of squared
    off-diagonal covariances divided by the dimension.

    Parameters
    ----------
    z1, z2 : Tensor of shape (batch, dim)
        Projections of the two views (batch >= 2).
    sim_weight, var_weight, cov_weight : float
        Weights of the three terms.
    eps : float
        Added to the variance before the square root.

    Returns
    -------
    Tensor, scalar
    """
    z1, z2 = z1.float(), z2.float()
    invariance = F.mse_loss(z1, z2)

    def variance(z: torch.Tensor) -> torch.Tensor:
        return torch.relu(1 - torch.sqrt(z.var(dim=0) + eps)).mean()

    def covariance(z: torch.Tensor) -> torch.Tensor:
        zc = z - z.mean(dim=0)
        cov = zc.T @ zc / (len(z) - 1)
        off = cov - torch.diag(torch.diagonal(cov))
        return off.square().sum() / z.shape[1]

    return (
        sim_weight * invariance
        + var_weight * (variance(z1) + variance(z2)) / 2
        + cov_weight * (covariance(z1) + covariance(z2))
    )
