"""A spatio-temporal encoder of dynamic FC: a shared GNN per window, a transformer over windows."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from neurocl._core.errors import ParameterError
from neurocl.models._temporal import masked_mean, sinusoidal_positions, transformer_stack
from neurocl.models.base import BrainGraphEncoder
from neurocl.models.registry import ENCODERS


class SpatioTemporalOutput(NamedTuple):
    """What :class:`SpatioTemporalGNNEncoder` returns.

    Attributes
    ----------
    graph : Tensor of shape (batch, embedding_dim)
        One embedding per subject, pooled over the visible windows.
    nodes : Tensor of shape (batch, n_nodes, hidden)
        Node embeddings averaged over the visible windows.
    windows : Tensor of shape (batch, n_windows, hidden)
        One contextual embedding per window (after the transformer over windows).
    window_nodes : Tensor of shape (batch, n_windows, n_nodes, hidden)
        Node embeddings of every window (from the shared GNN, before the transformer).
    """

    graph: torch.Tensor
    nodes: torch.Tensor
    windows: torch.Tensor
    window_nodes: torch.Tensor


@ENCODERS.register("st-gnn", "stgnn", "spatio-temporal")
class SpatioTemporalGNNEncoder(nn.Module):
    """Dense GNN on every sliding-window FC graph (shared weights), transformer over windows.

    Each window's FC graph is embedded by the same graph encoder (GIN by default, any
    registered graph encoder works) into a window token; a transformer with sinusoidal
    positional encoding mixes the tokens over time; the subject embedding is the mean of the
    contextual tokens of the visible windows, mapped to ``out_dim``. Masked windows are
    replaced by a learned mask token before the transformer (masked dynamic-FC modelling).

    Parameters
    ----------
    n_nodes : int
        Number of nodes of every window graph.
    gnn : str
        Registered graph encoder applied to each window (``gin``, ``gcn``, ``sage``, ...).
    hidden : int
        Width of node embeddings, window tokens and the transformer.
    layers : int
        Layers of the graph encoder.
    temporal_layers : int
        Transformer layers over the windows.
    heads : int
        Attention heads of the transformer over windows (``hidden`` must be divisible by it).
    out_dim : int, optional
        Size of the subject embedding (default: ``hidden``).
    dropout : float
        Dropout of the transformer over windows.
    **graph_params
        Options of the graph encoder (``node_features``, ``sparsify``, ``readout``, ``norm``).

    Examples
    --------
    >>> import torch
    >>> enc = SpatioTemporalGNNEncoder(n_nodes=7, hidden=16, layers=1, heads=2)
    >>> out = enc(torch.rand(3, 5, 7, 7))
    >>> out.graph.shape, out.windows.shape, out.window_nodes.shape
    (torch.Size([3, 16]), torch.Size([3, 5, 16]), torch.Size([3, 5, 7, 16]))
    """

    #: input the encoder reads: dynamic FC (batch, n_windows, n_nodes, n_nodes)
    inputs = ("dynamic",)
    uses_node_features = True

    def __init__(
        self,
        n_nodes: int,
        *,
        gnn: str = "gin",
        hidden: int = 64,
        layers: int = 2,
        temporal_layers: int = 2,
        heads: int = 4,
        out_dim: int | None = None,
        dropout: float = 0.0,
        **graph_params: Any,
    ) -> None:
        super().__init__()
        if heads < 1 or hidden % heads:
            raise ParameterError(f"st-gnn: hidden ({hidden}) must be divisible by heads ({heads})")
        if temporal_layers < 1:
            raise ParameterError(f"st-gnn: temporal_layers must be >= 1; got {temporal_layers}")
        cls = ENCODERS.get(gnn)
        if not (isinstance(cls, type) and issubclass(cls, BrainGraphEncoder)):
            raise ParameterError(
                f"st-gnn: gnn must be a graph encoder of static FC (gin, gcn, sage, gat, "
                f"brainnetcnn, transformer); got {gnn!r}"
            )
        self.n_nodes = int(n_nodes)
        self.hidden = int(hidden)
        self.gnn_name = ENCODERS.resolve(gnn)
        self.gnn = cls(n_nodes=n_nodes, hidden=hidden, layers=layers, out_dim=hidden,
                       **graph_params)
        self.uses_node_features = self.gnn.uses_node_features
        self.embedding_dim = int(out_dim or hidden)
        self.mask_token = nn.Parameter(torch.randn(hidden) * 0.02)
        self.temporal = transformer_stack(hidden, heads, temporal_layers, dropout)
        self.norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, self.embedding_dim)

    def featurize(self, fc: torch.Tensor) -> torch.Tensor:
        """Node features (batch, n_nodes, f) of window graphs ``fc`` (batch, n_nodes, n_nodes)."""
        return self.gnn.featurize(fc)

    def _check_shape(self, dfc: torch.Tensor) -> None:
        if dfc.ndim != 4 or dfc.shape[2:] != (self.n_nodes, self.n_nodes):
            raise ParameterError(
                f"st-gnn was built for {self.n_nodes} nodes and expects dynamic FC of shape "
                f"(batch, n_windows, {self.n_nodes}, {self.n_nodes}); got {tuple(dfc.shape)}"
            )

    def forward(
        self,
        dfc: torch.Tensor,
        window_mask: torch.Tensor | None = None,
        node_mask: torch.Tensor | None = None,
    ) -> SpatioTemporalOutput:
        """Embed a batch of dynamic-FC sequences.

        Parameters
        ----------
        dfc : Tensor of shape (batch, n_windows, n_nodes, n_nodes)
            Sliding-window FC.
        window_mask : Tensor of shape (batch, n_windows), bool, optional
            False for masked windows: their token is replaced by the mask token and they
            are left out of the subject embedding.
        node_mask : Tensor of shape (batch, n_windows, n_nodes), bool, optional
            False for masked nodes of a window (passed to the graph encoder).

        Returns
        -------
        SpatioTemporalOutput
        """
        self._check_shape(dfc)
        b, w, n, _ = dfc.shape
        flat_mask = None if node_mask is None else node_mask.reshape(b * w, n)
        per_window = self.gnn(dfc.reshape(b * w, n, n), node_mask=flat_mask)
        tokens = per_window.graph.reshape(b, w, self.hidden)
        window_nodes = per_window.nodes.reshape(b, w, n, self.hidden)
        if window_mask is not None:
            keep = window_mask.bool().unsqueeze(-1)
            tokens = torch.where(keep, tokens, self.mask_token.to(tokens.dtype))
        tokens = tokens + sinusoidal_positions(w, self.hidden, device=dfc.device,
                                               dtype=tokens.dtype)
        context = self.norm(self.temporal(tokens))
        graph = self.out(masked_mean(context, window_mask))
        nodes = masked_mean(window_nodes.transpose(1, 2).reshape(b * n, w, self.hidden),
                            None if window_mask is None
                            else window_mask.repeat_interleave(n, dim=0)).reshape(b, n, -1)
        return SpatioTemporalOutput(graph, nodes, context, window_nodes)
