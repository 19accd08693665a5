"""``masked-signal``: masked modelling of time patches of multichannel signals."""

from __future__ import annotations

import torch
from torch import nn

from neurocl._core.errors import ParameterError
from neurocl.ssl.objectives.base import OBJECTIVES
from neurocl.ssl.objectives.encoder_objective import Augment, EncoderObjective
from neurocl.ssl.objectives.masking import check_ratio, masked_mse, random_mask


class PatchDecoder(nn.Module):
    """Decoder of masked-signal: contextual patch token + subject embedding -> patch samples.

    Parameters
    ----------
    hidden, embedding_dim : int
        Width of the patch tokens and size of the fused embedding.
    patch_size : int
        Values per patch (``patch * n_channels``).
    """

    def __init__(self, hidden: int, embedding_dim: int, patch_size: int) -> None:
        super().__init__()
        self.context = nn.Linear(embedding_dim, hidden)
        self.net = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, patch_size))

    def forward(self, patches: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """Map tokens (batch, n_patches, hidden) to patches (batch, n_patches, patch_size)."""
        return self.net(patches + self.context(graph).unsqueeze(1))


@OBJECTIVES.register("masked-signal", "masked-patches", "signal-mae")
class MaskedSignalLoss(EncoderObjective):
    """Masked time-patch modelling of signals (batch, n_times, n_channels).

    A fraction ``mask_ratio`` of the encoder's time patches (all channels of a patch
    together) is hidden: zeroed in the CNN branch's input and replaced by the mask token in
    the transformer branch. A small decoder reconstructs the masked patches of the
    standardised signal from the contextual patch tokens and the fused embedding (so both
    branches are trained); the loss is the mean squared error over the masked patches.

    Parameters
    ----------
    mask_ratio : float in (0, 1)
        Fraction of time patches masked.
    """

    inputs = ("timeseries",)

    def __init__(self, mask_ratio: float = 0.5) -> None:
        self.mask_ratio = check_ratio(mask_ratio)

    def check_encoder(self, encoder: nn.Module) -> None:
        """Require an encoder of signals that works in time patches (cnn-transformer)."""
        if not all(hasattr(encoder, a) for a in ("patchify", "normalize", "patch")):
            raise ParameterError(
                f"masked-signal needs an encoder of signal patches (cnn-transformer), not "
                f"{type(encoder).__name__}; use --encoder cnn-transformer"
            )

    def build_modules(self, encoder: nn.Module, proj_dim: int) -> nn.Module:
        """Return the patch decoder."""
        self.check_encoder(encoder)
        return PatchDecoder(encoder.hidden, encoder.embedding_dim,
                            encoder.patch * encoder.n_nodes)

    def loss(
        self,
        encoder: nn.Module,
        modules: nn.Module,
        inputs: torch.Tensor,
        *,
        augment: Augment | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Masked reconstruction loss of signals ``inputs`` (batch, n_times, n_channels)."""
        x = inputs
        n_p = encoder.n_patches(x.shape[1])
        if n_p < 2:
            raise ParameterError(
                f"masked-signal needs at least 2 patches of {encoder.patch} samples, but the "
                f"signals have {x.shape[1]}; use a smaller patch"
            )
        hidden = random_mask(x.shape[0], n_p, self.mask_ratio, generator=generator,
                             device=x.device)
        out = encoder(x, patch_mask=~hidden)
        pred = modules(out.patches, out.graph)
        target = encoder.patchify(encoder.normalize(x))
        return masked_mse(pred, target, hidden.unsqueeze(-1))
