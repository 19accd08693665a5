"""``gaussian-noise``: add white Gaussian noise scaled to each channel's standard deviation."""

from __future__ import annotations

import torch

from neurocl._core.validation import check_positive
from neurocl.ssl.views.base import VIEWS
from neurocl.ssl.views.signal_base import SignalView
from neurocl.ssl.views.signal_functional import gaussian_noise


@VIEWS.register("gaussian-noise", "noise", "jitter")
class GaussianNoise(SignalView):
    """Add white Gaussian noise scaled to each channel's standard deviation.

    Parameters
    ----------
    sigma : float
        Noise standard deviation relative to the channel's (0.1: 20 dB SNR).
    """

    def __init__(self, sigma: float = 0.1) -> None:
        self.sigma = float(check_positive(sigma, "gaussian-noise sigma"))

    def transform(
        self, x: torch.Tensor, lengths: torch.Tensor | None, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the viewed signals (batch, n_times, n_channels) and their lengths."""
        return gaussian_noise(x, lengths, self.sigma, generator), lengths
