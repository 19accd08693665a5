"""From FC matrices to graphs: sparsification and node features as batched tensor operations.

Every subject of a dataset has the same nodes, so a batch of graphs is a dense tensor
``fc`` of shape (batch, n_nodes, n_nodes). The functions here run on the tensor's device
(the GPU when there is one) and never modify their input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from neurocl._core.errors import ParameterError
from neurocl._core.registry import Registry

#: sparsification rules: name -> function(fc, value) -> weighted adjacency
SPARSIFIERS: Registry[Callable[[torch.Tensor, float], torch.Tensor]] = Registry("sparsifier")
#: node feature builders: name -> function(fc, adj) -> (batch, n_nodes, n_features)
NODE_FEATURES: Registry[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = Registry(
    "node feature"
)

#: default value of each sparsifier (density for topk, neighbours for knn, cut-off for threshold)
SPARSIFY_DEFAULTS = {"none": None, "topk": 0.2, "knn": 10, "threshold": 0.3}


def zero_diagonal(fc: torch.Tensor) -> torch.Tensor:
    """Return ``(fc + fc.T) / 2`` (..., n, n) with its diagonal set to zero.

    Averaging with the transpose leaves a symmetric matrix unchanged and removes the
    last-bit asymmetry of float matrices, so the sparsified graphs are exactly undirected.
    """
    out = (fc + fc.mT) / 2
    out.diagonal(dim1=-2, dim2=-1).zero_()
    return out


@SPARSIFIERS.register("none", "full")
def sparsify_none(fc: torch.Tensor, value: float | None = None) -> torch.Tensor:
    """Keep every edge with its weight (the diagonal is set to zero).

    Parameters
    ----------
    fc : Tensor of shape (batch, n_nodes, n_nodes)
    value : None
        Unused (the rule has no parameter).

    Returns
    -------
    Tensor of shape (batch, n_nodes, n_nodes)
    """
    return zero_diagonal(fc)


@SPARSIFIERS.register("topk", "top-k", "proportional")
def sparsify_topk(fc: torch.Tensor, value: float | None = 0.2) -> torch.Tensor:
    """Keep the strongest ``value`` fraction of edges of each subject (by weight, symmetric).

    Parameters
    ----------
    fc : Tensor of shape (batch, n_nodes, n_nodes)
        Symmetric FC.
    value : float in (0, 1]
        Edge density to keep (0.1 keeps the top 10 % of the ``n (n - 1) / 2`` edges).

    Returns
    -------
    Tensor of shape (batch, n_nodes, n_nodes)
        The kept weights, zeros elsewhere (ties at the cut-off are kept).
    """
    density = 0.2 if value is None else float(value)
    if not 0 < density <= 1:
        raise ParameterError(f"sparsify topk density must be in (0, 1]; got {density!r}")
    n = fc.shape[-1]
    rows, cols = torch.triu_indices(n, n, offset=1, device=fc.device)
    upper = fc[..., rows, cols]
    k = max(1, int(round(density * upper.shape[-1])))
    cut = torch.topk(upper, k, dim=-1).values[..., -1:]
    adj = zero_diagonal(fc)
    return torch.where(adj >= cut.unsqueeze(-1), adj, torch.zeros_like(adj)) * _off_diag(n, fc)


@SPARSIFIERS.register("knn", "k-nn")
def sparsify_knn(fc: torch.Tensor, value: float | None = 10) -> torch.Tensor:
    """Keep, for each node, its ``value`` strongest connections; symmetrised by union.

    Parameters
    ----------
    fc : Tensor of shape (batch, n_nodes, n_nodes)
    value : int
        Number of neighbours per node (1 <= k < n_nodes).

    Returns
    -------
    Tensor of shape (batch, n_nodes, n_nodes)
    """
    k = 10 if value is None else int(value)
    n = fc.shape[-1]
    if not 1 <= k < n or (value is not None and float(value) != k):
        raise ParameterError(f"sparsify knn needs an integer k in [1, {n - 1}]; got {value!r}")
    adj = zero_diagonal(fc)
    ranked = adj.masked_fill(~_off_diag(n, fc).bool(), float("-inf"))
    idx = torch.topk(ranked, k, dim=-1).indices
    keep = torch.zeros_like(adj, dtype=torch.bool).scatter_(-1, idx, True)
    keep = keep | keep.mT
    return torch.where(keep, adj, torch.zeros_like(adj))


@SPARSIFIERS.register("threshold", "absolute")
def sparsify_threshold(fc: torch.Tensor, value: float | None = 0.3) -> torch.Tensor:
    """Keep edges whose weight is at least ``value`` (an absolute cut-off).

    Parameters
    ----------
    fc : Tensor of shape (batch, n_nodes, n_nodes)
    value : float
        The cut-off, in the units of the FC (correlation or Fisher z).

    Returns
    -------
    Tensor of shape (batch, n_nodes, n_nodes)
    """
    cut = 0.3 if value is None else float(value)
    adj = zero_diagonal(fc)
    return torch.where(adj >= cut, adj, torch.zeros_like(adj))


def _off_diag(n: int, like: torch.Tensor) -> torch.Tensor:
    return 1.0 - torch.eye(n, dtype=like.dtype, device=like.device)


@dataclass(frozen=True)
class Sparsify:
    """A parsed sparsification rule, callable on a batch of FC matrices.

    Parameters
    ----------
    rule : str
        A registered rule name (``none``, ``topk``, ``knn``, ``threshold``).
    value : float or None
        Its parameter (density, neighbours, cut-off); None means the rule's default.
    """

    rule: str = "none"
    value: float | None = None

    @classmethod
    def parse(cls, spec: str | Sparsify | None) -> Sparsify:
        """Parse ``"topk:0.1"``, ``"knn:8"``, ``"threshold:0.4"`` or ``"none"``.

        Raises
        ------
        ParameterError
            On an unknown rule or a value that is not a number.
        """
        if isinstance(spec, Sparsify):
            return spec
        if spec is None:
            return cls("none")
        name, _, raw = str(spec).partition(":")
        rule = SPARSIFIERS.resolve(name)
        value: float | None
        if raw.strip():
            try:
                value = float(raw)
            except ValueError:
                raise ParameterError(
                    f"sparsify {spec!r}: the value after ':' must be a number "
                    "(e.g. topk:0.1, knn:10, threshold:0.3)"
                ) from None
            if rule == "none":
                raise ParameterError(f"sparsify 'none' takes no value; got {spec!r}")
        else:
            value = SPARSIFY_DEFAULTS[rule]
        if rule == "topk" and not 0 < float(value) <= 1:  # type: ignore[arg-type]
            raise ParameterError(f"sparsify topk density must be in (0, 1]; got {value!r}")
        if rule == "knn" and (float(value) != int(value) or int(value) < 1):  # type: ignore[arg-type]
            raise ParameterError(f"sparsify knn needs a positive integer k; got {value!r}")
        return cls(rule, value)

    def __str__(self) -> str:
        return self.rule if self.value is None else f"{self.rule}:{self.value:g}"

    def __call__(self, fc: torch.Tensor) -> torch.Tensor:
        """Sparsify ``fc`` (batch, n, n) into a weighted adjacency of the same shape."""
        return SPARSIFIERS.get(self.rule)(fc, self.value)


@NODE_FEATURES.register("fc-row", "profile", "connectivity-profile")
def features_fc_row(fc: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
    """Each node's row of the FC matrix (its connectivity profile), shape (batch, n, n)."""
    return fc.clone()


@NODE_FEATURES.register("identity", "one-hot")
def features_identity(fc: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
    """One-hot node identity, shape (batch, n, n)."""
    n = fc.shape[-1]
    return torch.eye(n, dtype=fc.dtype, device=fc.device).expand(fc.shape[0], n, n).clone()


@NODE_FEATURES.register("degree", "strength")
def features_degree(fc: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
    """Degree (fraction of possible edges kept) and strength (sum of weights), shape (batch, n, 2).

    Both are computed on the sparsified adjacency ``adj``.
    """
    n = adj.shape[-1]
    degree = (adj != 0).to(adj.dtype).sum(-1) / max(n - 1, 1)
    strength = adj.sum(-1) / max(n - 1, 1)
    return torch.stack([degree, strength], dim=-1)


def n_node_features(name: str, n_nodes: int) -> int:
    """Return the number of features per node that ``name`` gives on ``n_nodes`` nodes."""
    return 2 if NODE_FEATURES.resolve(name) == "degree" else n_nodes
