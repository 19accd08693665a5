"""The common frame of every encoder: FC in, subject and node embeddings out."""

from __future__ import annotations

import abc
from typing import NamedTuple

import torch
from torch import nn

from neurocl._core.errors import ParameterError
from neurocl.data.graphs import NODE_FEATURES, Sparsify, n_node_features
from neurocl.models.readout import build_readout

NORMS = ("layer", "batch", "none")


class EncoderOutput(NamedTuple):
    """What an encoder returns.

    Attributes
    ----------
    graph : Tensor of shape (batch, embedding_dim)
        One embedding per subject.
    nodes : Tensor of shape (batch, n_nodes, hidden)
        One embedding per node (zeros for dropped nodes).
    """

    graph: torch.Tensor
    nodes: torch.Tensor


class NodeNorm(nn.Module):
    """Normalisation of node embeddings (batch, n_nodes, channels).

    Parameters
    ----------
    kind : {"layer", "batch", "none"}
        ``layer`` (the default everywhere) does not depend on the batch, so results do not
        change with the batch split; ``batch`` pools statistics over subjects and nodes.
    channels : int
        Number of channels.
    """

    def __init__(self, kind: str, channels: int) -> None:
        super().__init__()
        if kind not in NORMS:
            raise ParameterError(f"norm must be one of {', '.join(NORMS)}; got {kind!r}")
        self.kind = kind
        if kind == "layer":
            self.norm: nn.Module = nn.LayerNorm(channels)
        elif kind == "batch":
            self.norm = nn.BatchNorm1d(channels)
        else:
            self.norm = nn.Identity()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Normalise ``h`` of shape (batch, n_nodes, channels)."""
        if self.kind == "batch":
            return self.norm(h.reshape(-1, h.shape[-1])).reshape(h.shape)
        return self.norm(h)


class BrainGraphEncoder(nn.Module, abc.ABC):
    """Base class: node features and sparsification from FC, a node encoder, a readout.

    Subclasses implement :meth:`encode_nodes`.

    Parameters
    ----------
    n_nodes : int
        Number of nodes (the atlas size); fixed for a model.
    hidden : int
        Channels of the node embeddings.
    layers : int
        Number of message-passing (or attention, or convolution) layers.
    out_dim : int, optional
        Size of the subject embedding (default: ``hidden``).
    node_features : {"fc-row", "identity", "degree"}
        Node features built from the FC of each subject.
    sparsify : str
        Edge rule applied on the fly (``none``, ``topk:0.2``, ``knn:10``, ``threshold:0.3``).
    readout : {"flatten", "node-weights", "mean", "sum", "max"}
        How node embeddings become a subject embedding; ``flatten`` and ``node-weights`` keep
        node identity.
    norm : {"layer", "batch", "none"}
        Normalisation after each layer (LayerNorm by default: independent of the batch).
    """

    #: whether the encoder reads node features (BrainNetCNN reads the matrix only)
    uses_node_features = True

    def __init__(
        self,
        n_nodes: int,
        *,
        hidden: int = 64,
        layers: int = 3,
        out_dim: int | None = None,
        node_features: str = "fc-row",
        sparsify: str | Sparsify = "topk:0.2",
        readout: str = "flatten",
        norm: str = "layer",
    ) -> None:
        super().__init__()
        if hidden < 1 or layers < 1:
            raise ParameterError(f"hidden and layers must be >= 1; got {hidden}, {layers}")
        self.n_nodes = int(n_nodes)
        self.hidden = int(hidden)
        self.layers = int(layers)
        self.embedding_dim = int(out_dim or hidden)
        self.node_features = NODE_FEATURES.resolve(node_features)
        if not self.uses_node_features and self.node_features != "fc-row":
            raise ParameterError(
                f"encoder {type(self).__name__} reads the FC matrix itself, not node features; "
                f"drop --node-features {node_features!r}"
            )
        self.in_features = n_node_features(self.node_features, self.n_nodes)
        self.sparsify = Sparsify.parse(sparsify)
        self.norm_kind = norm
        self.readout = build_readout(readout, self.n_nodes, self.hidden, self.embedding_dim)

    def adjacency(self, fc: torch.Tensor) -> torch.Tensor:
        """Sparsified weighted adjacency (batch, n, n) of ``fc`` (batch, n, n)."""
        self._check_shape(fc)
        return self.sparsify(fc)

    def featurize(self, fc: torch.Tensor, adj: torch.Tensor | None = None) -> torch.Tensor:
        """Node features (batch, n_nodes, in_features) of ``fc`` (batch, n_nodes, n_nodes)."""
        if adj is None:
            adj = self.adjacency(fc)
        return NODE_FEATURES.get(self.node_features)(fc, adj)

    def _check_shape(self, fc: torch.Tensor) -> None:
        if fc.ndim != 3 or fc.shape[1:] != (self.n_nodes, self.n_nodes):
            raise ParameterError(
                f"the encoder was built for {self.n_nodes} nodes and expects FC of shape "
                f"(batch, {self.n_nodes}, {self.n_nodes}); got {tuple(fc.shape)}"
            )

    def forward(
        self,
        fc: torch.Tensor,
        x: torch.Tensor | None = None,
        node_mask: torch.Tensor | None = None,
    ) -> EncoderOutput:
        """Embed a batch of subjects.

        Parameters
        ----------
        fc : Tensor of shape (batch, n_nodes, n_nodes)
            FC matrices.
        x : Tensor of shape (batch, n_nodes, in_features), optional
            Node features (default: built from ``fc``).
        node_mask : Tensor of shape (batch, n_nodes), bool, optional
            False for dropped nodes.

        Returns
        -------
        EncoderOutput
            ``graph`` (batch, embedding_dim) and ``nodes`` (batch, n_nodes, hidden).
        """
        adj = self.adjacency(fc)
        if x is None:
            x = self.featurize(fc, adj)
        mask = None
        if node_mask is not None:
            mask = node_mask.to(fc.dtype)
            x = x * mask.unsqueeze(-1)
            adj = adj * mask.unsqueeze(-1) * mask.unsqueeze(-2)
        nodes = self.encode_nodes(x, adj, node_mask)
        if mask is not None:
            nodes = nodes * mask.unsqueeze(-1).to(nodes.dtype)
        return EncoderOutput(self.readout(nodes, node_mask), nodes)

    @abc.abstractmethod
    def encode_nodes(
        self, x: torch.Tensor, adj: torch.Tensor, node_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Node embeddings (batch, n_nodes, hidden) from features and adjacency."""
