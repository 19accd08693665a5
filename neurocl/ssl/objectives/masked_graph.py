"""``masked-graph``: GraphMAE-style masked autoencoding of FC graphs."""

from __future__ import annotations

import torch
from torch import nn

from neurocl._core.errors import ParameterError
from neurocl._core.validation import check_in, check_positive
from neurocl.models.base import BrainGraphEncoder
from neurocl.ssl.objectives.base import OBJECTIVES
from neurocl.ssl.objectives.encoder_objective import Augment, EncoderObjective
from neurocl.ssl.objectives.masking import (
    check_ratio,
    low_rank_matrix,
    random_edge_mask,
    random_mask,
    scaled_cosine_error,
)

GRAPH_MASKS = ("features", "edges", "both")


class GraphDecoder(nn.Module):
    """Decoder of masked-graph: node codes to an (asymmetric) bilinear FC reconstruction.

    ``R = (A h~ + e + C g) diag(s) (B h)^T`` where ``h~`` are the node embeddings with the
    masked nodes re-masked to zero, ``e`` a learned embedding of each node's identity (all a
    masked node keeps), ``g`` the subject embedding (so the readout is trained too), ``A``,
    ``B``, ``C`` linear maps and ``s`` learned signs/scales.

    Parameters
    ----------
    n_nodes, hidden : int
        Nodes and width of the encoder's node embeddings.
    embedding_dim : int
        Size of the encoder's subject embedding.
    """

    def __init__(self, n_nodes: int, hidden: int, embedding_dim: int) -> None:
        super().__init__()
        #: mask token of node features (set when node features are masked)
        self.register_parameter("feature_token", None)
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.identity = nn.Parameter(torch.randn(n_nodes, hidden) * 0.02)
        self.context = nn.Linear(embedding_dim, hidden)
        self.signs = nn.Parameter(torch.ones(hidden) / hidden**0.5)

    def forward(
        self, nodes: torch.Tensor, graph: torch.Tensor, masked: torch.Tensor | None
    ) -> torch.Tensor:
        """Reconstruct (batch, n, n) from node (batch, n, hidden) and subject embeddings."""
        remasked = nodes if masked is None else nodes.masked_fill(masked.unsqueeze(-1), 0.0)
        q = (self.query(remasked) + self.identity.to(nodes.dtype)
             + self.context(graph).unsqueeze(1))
        return low_rank_matrix(q, self.key(nodes), self.signs)


@OBJECTIVES.register("masked-graph", "graphmae", "masked-fc")
class MaskedGraphLoss(EncoderObjective):
    """Masked graph autoencoding (GraphMAE): hide nodes' features and/or edges, reconstruct.

    * ``features``: a fraction ``mask_ratio`` of the nodes of each graph get a learned mask
      token instead of their features, and their edges leave the encoder's adjacency (so the
      graph does not leak them); the target is each masked node's FC row (its connectivity
      profile, the ``fc-row`` features), reconstructed from the other nodes' embeddings.
      The masked nodes' codes are re-masked (set to zero) before decoding.
    * ``edges``: a fraction ``mask_ratio`` of the node pairs of each graph is removed from
      the FC (hence from adjacency and features); the target is the vector of their weights.
    * ``both``: the two losses, summed.

    Reconstructions are scored with GraphMAE's scaled cosine error
    ``(1 - cos(pred, target))^alpha``. The decoder is a bilinear map of node embeddings.

    Parameters
    ----------
    mask_ratio : float in (0, 1)
        Fraction of nodes (or node pairs) masked in every graph.
    mask : {"features", "edges", "both"}
        What is masked.
    alpha : float
        Exponent of the scaled cosine error (>= 1).
    """

    inputs = ("fc",)

    def __init__(self, mask_ratio: float = 0.5, mask: str = "features", alpha: float = 2.0) -> None:
        self.mask_ratio = check_ratio(mask_ratio)
        self.mask = check_in(str(mask).strip().lower(), GRAPH_MASKS, "mask (masked-graph)")
        self.alpha = float(check_positive(alpha, "alpha"))
        if self.alpha < 1:
            raise ParameterError(f"alpha must be >= 1; got {alpha!r}")

    def check_encoder(self, encoder: nn.Module) -> None:
        """Require a graph encoder of static FC."""
        if not isinstance(encoder, BrainGraphEncoder):
            raise ParameterError(
                f"masked-graph masks static FC graphs, but encoder {type(encoder).__name__} "
                "does not read them; use a graph encoder (gin, gcn, ...) or masked-dfc with "
                "st-gnn / masked-signal with cnn-transformer"
            )

    def build_modules(self, encoder: nn.Module, proj_dim: int) -> nn.Module:
        """Mask token and bilinear decoder for ``encoder``'s node embeddings."""
        self.check_encoder(encoder)
        decoder = GraphDecoder(encoder.n_nodes, encoder.hidden, encoder.embedding_dim)
        if self.mask in ("features", "both") and encoder.uses_node_features:
            decoder.feature_token = nn.Parameter(torch.zeros(encoder.in_features))
        return decoder

    def loss(
        self,
        encoder: nn.Module,
        modules: nn.Module,
        inputs: torch.Tensor,
        *,
        augment: Augment | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Masked reconstruction loss of FC ``inputs`` (batch, n_nodes, n_nodes)."""
        fc = inputs
        b, n, _ = fc.shape
        dev = fc.device
        diag = torch.eye(n, dtype=torch.bool, device=dev)
        total = fc.new_zeros(())
        if self.mask in ("features", "both"):
            masked = random_mask(b, n, self.mask_ratio, generator=generator, device=dev)
            hidden_pairs = masked.unsqueeze(-1) | masked.unsqueeze(-2)
            x = encoder.featurize(fc)
            if encoder.uses_node_features:
                x = torch.where(masked.unsqueeze(-1), modules.feature_token.to(x.dtype), x)
            # the masked nodes' own edges leave the graph; other nodes keep their features
            out = encoder(fc.masked_fill(hidden_pairs & ~diag, 0.0), x=x)
            pred = modules(out.nodes, out.graph, masked).masked_fill(diag, 0.0)
            target = fc.masked_fill(diag, 0.0)
            total = total + scaled_cosine_error(pred[masked], target[masked], self.alpha)
        if self.mask in ("edges", "both"):
            edges = random_edge_mask(b, n, self.mask_ratio, generator=generator, device=dev)
            out = encoder(fc.masked_fill(edges, 0.0))
            pred = modules(out.nodes, out.graph, None)
            pred = (pred + pred.mT) / 2
            upper = edges & torch.ones_like(diag).triu(1)
            k = int(upper[0].sum())
            total = total + scaled_cosine_error(
                pred[upper].reshape(b, k), fc[upper].reshape(b, k), self.alpha
            )
        return total
