"""``cross-model``: contrast the CNN and transformer branches, and original vs augmented."""

from __future__ import annotations

import torch
from torch import nn

from neurocl._core.errors import ParameterError
from neurocl._core.validation import check_positive
from neurocl.models.head import ProjectionHead
from neurocl.ssl.objectives.base import OBJECTIVES
from neurocl.ssl.objectives.encoder_objective import Augment, EncoderObjective
from neurocl.ssl.objectives.functional import nt_xent


@OBJECTIVES.register("cross-model", "mvc", "cross-branch")
class CrossModelLoss(EncoderObjective):
    """Multi-view contrast of a dual-branch encoder: cross-view plus cross-model InfoNCE.

    For a batch of signals ``x`` and one augmented view ``x'`` (the ``--augment`` views):

    * cross-view: NT-Xent between the fused embeddings of ``x`` and ``x'`` (original vs
      augmented), through a projection head;
    * cross-model: NT-Xent between the CNN-branch and the transformer-branch embeddings of
      the same sample (each through its own head), on ``x`` and on ``x'``, averaged.

    The loss is ``view_weight * cross_view + model_weight * cross_model``; the fused
    embedding is the representation.

    Parameters
    ----------
    temperature : float
        Softmax temperature of both InfoNCE terms.
    view_weight, model_weight : float
        Weights of the cross-view and cross-model terms (>= 0, not both 0).
    """

    inputs = ("timeseries",)
    uses_views = True

    def __init__(self, temperature: float = 0.2, view_weight: float = 1.0,
                 model_weight: float = 1.0) -> None:
        self.temperature = float(check_positive(temperature, "temperature"))
        self.view_weight = float(check_positive(view_weight, "view_weight", strict=False))
        self.model_weight = float(check_positive(model_weight, "model_weight", strict=False))
        if self.view_weight == 0 and self.model_weight == 0:
            raise ParameterError("view_weight and model_weight are both 0; give one > 0")

    def check_encoder(self, encoder: nn.Module) -> None:
        """Require a dual-branch encoder (one whose output has ``cnn`` and ``transformer``)."""
        if not hasattr(encoder, "patchify"):
            raise ParameterError(
                f"cross-model contrasts the two branches of a dual-branch encoder, and "
                f"{type(encoder).__name__} has one; use --encoder cnn-transformer"
            )

    def build_modules(self, encoder: nn.Module, proj_dim: int) -> nn.Module:
        """Projection heads for the fused embedding and for each branch."""
        self.check_encoder(encoder)
        d, h = encoder.embedding_dim, encoder.hidden
        return nn.ModuleDict({
            "fused": ProjectionHead(d, d, proj_dim),
            "cnn": ProjectionHead(h, h, proj_dim),
            "transformer": ProjectionHead(h, h, proj_dim),
        })

    def loss(
        self,
        encoder: nn.Module,
        modules: nn.Module,
        inputs: torch.Tensor,
        *,
        augment: Augment | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Cross-view + cross-model loss of signals ``inputs`` (batch, n_times, n_channels)."""
        if augment is None:
            raise ParameterError("cross-model needs augmented views; give --augment")
        with torch.no_grad():
            view = augment(inputs)
        t = self.temperature
        outs = [encoder(inputs), encoder(view)]
        total = inputs.new_zeros((), dtype=torch.float32)
        if self.view_weight:
            total = total + self.view_weight * nt_xent(
                modules["fused"](outs[0].graph).float(), modules["fused"](outs[1].graph).float(), t
            )
        if self.model_weight:
            cross = [nt_xent(modules["cnn"](o.cnn).float(),
                             modules["transformer"](o.transformer).float(), t) for o in outs]
            total = total + self.model_weight * (cross[0] + cross[1]) / 2
        return total
