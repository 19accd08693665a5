"""``amplitude-scale``: random per-channel amplitude factors."""

from __future__ import annotations

import torch

from neurocl._core.errors import ParameterError
from neurocl.ssl.views.base import VIEWS
from neurocl.ssl.views.signal_base import SignalView
from neurocl.ssl.views.signal_functional import amplitude_scale


@VIEWS.register("amplitude-scale", "scale")
class AmplitudeScale(SignalView):
    """Multiply each channel of each signal by a random factor in ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Range of the factors (0 < low <= high).
    """

    def __init__(self, low: float = 0.8, high: float = 1.2) -> None:
        if not 0 < float(low) <= float(high):
            raise ParameterError(
                f"amplitude-scale needs 0 < low <= high; got low={low!r}, high={high!r}"
            )
        self.low = float(low)
        self.high = float(high)

    def transform(
        self, x: torch.Tensor, lengths: torch.Tensor | None, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the viewed signals (batch, n_times, n_channels) and their lengths."""
        return amplitude_scale(x, self.low, self.high, generator), lengths
