"""``freq-mask``: band-stop in the Fourier domain: zero a random frequency band of every channel."""

from __future__ import annotations

import torch

from neurocl._core.errors import ParameterError
from neurocl.ssl.views.base import VIEWS
from neurocl.ssl.views.signal_base import SignalView
from neurocl.ssl.views.signal_functional import freq_mask


@VIEWS.register("freq-mask", "frequency-mask", "band-stop")
class FrequencyMask(SignalView):
    """Band-stop in the Fourier domain: zero a random frequency band of every channel.

    Parameters
    ----------
    width : float in (0, 1)
        Band width as a fraction of the spectrum (0 Hz to Nyquist); the DC bin is kept.
    """

    def __init__(self, width: float = 0.1) -> None:
        self.width = float(width)
        if not 0 < self.width < 1:
            raise ParameterError(f"freq-mask width must be in (0, 1); got {width!r}")

    def transform(
        self, x: torch.Tensor, lengths: torch.Tensor | None, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the viewed signals (batch, n_times, n_channels) and their lengths."""
        return freq_mask(x, lengths, self.width, generator), lengths
