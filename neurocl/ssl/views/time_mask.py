"""``time-mask``: zero one random span of consecutive samples (all channels) in each signal."""

from __future__ import annotations

import torch

from neurocl.ssl.views.base import VIEWS
from neurocl.ssl.views.signal_base import SignalView, check_size
from neurocl.ssl.views.signal_functional import n_samples, time_mask


@VIEWS.register("time-mask", "time-masking")
class TimeMask(SignalView):
    """Zero one random span of consecutive samples (all channels) in each signal.

    Parameters
    ----------
    width : float
        Span length, as a fraction of the signal (<= 1) or in samples (> 1).
    """

    def __init__(self, width: float = 0.1) -> None:
        self.width = check_size(width, "time-mask width")

    def transform(
        self, x: torch.Tensor, lengths: torch.Tensor | None, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the viewed signals (batch, n_times, n_channels) and their lengths."""
        shortest = x.shape[1] if lengths is None else int(lengths.min())
        width = min(max(n_samples(self.width, shortest), 1), shortest)
        return time_mask(x, lengths, width, generator), lengths
