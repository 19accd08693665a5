"""``masked-dfc``: masked modelling of dynamic FC sequences (windows and/or node blocks)."""

from __future__ import annotations

import torch
from torch import nn

from neurocl._core.errors import ParameterError
from neurocl._core.validation import check_in
from neurocl.ssl.objectives.base import OBJECTIVES
from neurocl.ssl.objectives.encoder_objective import Augment, EncoderObjective
from neurocl.ssl.objectives.masking import check_ratio, low_rank_matrix, masked_mse, random_mask

DFC_MASKS = ("windows", "nodes", "both")


class DynamicFCDecoder(nn.Module):
    """Decoder of masked-dfc: per-window node codes to a bilinear FC reconstruction.

    The code of node ``i`` in window ``w`` is ``A h~_wi + D m_i + B c_w + C g + e_i`` (then
    a residual MLP): its graph embedding ``h~`` (re-masked to zero where the window or the
    node was masked), its embedding ``m_i`` averaged over the visible windows, the window's
    contextual token ``c_w`` from the transformer over windows (which carries what the other
    windows say about this time point), the subject embedding ``g`` and a learned node
    identity ``e_i``. The window's FC is ``z diag(s) z^T``.

    Parameters
    ----------
    n_nodes, hidden, embedding_dim : int
        Nodes, width and subject-embedding size of the encoder.
    """

    def __init__(self, n_nodes: int, hidden: int, embedding_dim: int) -> None:
        super().__init__()
        self.node = nn.Linear(hidden, hidden)
        self.window = nn.Linear(hidden, hidden)
        self.subject_nodes = nn.Linear(hidden, hidden)
        self.context = nn.Linear(embedding_dim, hidden)
        self.identity = nn.Parameter(torch.randn(n_nodes, hidden) * 0.02)
        self.mix = nn.Sequential(nn.GELU(), nn.Linear(hidden, hidden))
        self.signs = nn.Parameter(torch.ones(hidden) / hidden**0.5)

    def forward(
        self,
        window_nodes: torch.Tensor,
        windows: torch.Tensor,
        graph: torch.Tensor,
        nodes: torch.Tensor,
        visible: torch.Tensor,
    ) -> torch.Tensor:
        """Reconstruct (batch, n_windows, n, n) from the encoder's outputs.

        Parameters
        ----------
        window_nodes : Tensor of shape (batch, n_windows, n_nodes, hidden)
        windows : Tensor of shape (batch, n_windows, hidden)
        graph : Tensor of shape (batch, embedding_dim)
        nodes : Tensor of shape (batch, n_nodes, hidden)
            Node embeddings averaged over the visible windows.
        visible : Tensor of shape (batch, n_windows, n_nodes), bool
            False where the node (or its whole window) was masked.
        """
        h = window_nodes.masked_fill(~visible.unsqueeze(-1), 0.0)
        z = (self.node(h) + self.window(windows).unsqueeze(2)
             + self.subject_nodes(nodes).unsqueeze(1)
             + self.context(graph)[:, None, None, :] + self.identity.to(h.dtype))
        z = z + self.mix(z)
        return low_rank_matrix(z, z, self.signs)


@OBJECTIVES.register("masked-dfc", "stmae", "masked-dynamic-fc")
class MaskedDynamicFCLoss(EncoderObjective):
    """Masked dynamic-FC modelling: hide whole windows and/or node blocks, reconstruct the FC.

    * ``windows``: a fraction ``mask_ratio`` of the windows of each sequence is hidden: their
      FC is zeroed and their token replaced by the encoder's mask token, so they can only be
      recovered from the other windows through the transformer over time.
    * ``nodes``: in every window, a fraction ``mask_ratio`` of the nodes is hidden (their FC
      rows and columns zeroed and the nodes dropped from the window graph).
    * ``both``: windows are masked, then nodes in the remaining windows.

    The loss is the mean squared error over the masked off-diagonal FC entries (entries of a
    masked window, or involving a masked node). Needs an encoder of dynamic FC (``st-gnn``).

    Parameters
    ----------
    mask_ratio : float in (0, 1)
        Fraction of windows (and/or nodes) masked.
    mask : {"windows", "nodes", "both"}
        What is masked.
    """

    inputs = ("dynamic",)

    def __init__(self, mask_ratio: float = 0.5, mask: str = "windows") -> None:
        self.mask_ratio = check_ratio(mask_ratio)
        self.mask = check_in(str(mask).strip().lower(), DFC_MASKS, "mask (masked-dfc)")

    def check_encoder(self, encoder: nn.Module) -> None:
        """Require an encoder of dynamic FC (one that returns per-window outputs)."""
        if "dynamic" not in getattr(encoder, "inputs", ()):
            raise ParameterError(
                f"masked-dfc needs an encoder of dynamic FC (st-gnn), not "
                f"{type(encoder).__name__}; use --encoder st-gnn"
            )

    def build_modules(self, encoder: nn.Module, proj_dim: int) -> nn.Module:
        """Return the bilinear decoder of window FC."""
        self.check_encoder(encoder)
        return DynamicFCDecoder(encoder.n_nodes, encoder.hidden, encoder.embedding_dim)

    def draw_masks(
        self, b: int, w: int, n: int, generator: torch.Generator | None, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (window_mask (b, w), node_mask (b, w, n)); True = visible."""
        windows = torch.ones((b, w), dtype=torch.bool, device=device)
        nodes = torch.ones((b, w, n), dtype=torch.bool, device=device)
        if self.mask in ("windows", "both"):
            if w < 2:
                raise ParameterError(
                    "masked-dfc with mask=windows needs at least 2 windows per sample; rebuild "
                    "the dataset with a shorter --window or --stride, or use --mask nodes"
                )
            windows = ~random_mask(b, w, self.mask_ratio, generator=generator, device=device)
        if self.mask in ("nodes", "both"):
            hidden = random_mask(b * w, n, self.mask_ratio, generator=generator, device=device)
            nodes = ~hidden.reshape(b, w, n)
        return windows, nodes

    def loss(
        self,
        encoder: nn.Module,
        modules: nn.Module,
        inputs: torch.Tensor,
        *,
        augment: Augment | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Masked reconstruction loss of dynamic FC ``inputs`` (batch, n_windows, n, n)."""
        dfc = inputs
        b, w, n, _ = dfc.shape
        windows, nodes = self.draw_masks(b, w, n, generator, dfc.device)
        visible = nodes & windows.unsqueeze(-1)  # (b, w, n)
        kept_pairs = visible.unsqueeze(-1) & visible.unsqueeze(-2)
        out = encoder(dfc * kept_pairs.to(dfc.dtype), window_mask=windows, node_mask=visible)
        pred = modules(out.window_nodes, out.windows, out.graph, out.nodes, visible)
        off_diag = ~torch.eye(n, dtype=torch.bool, device=dfc.device)
        return masked_mse(pred, dfc, ~kept_pairs & off_diag)
