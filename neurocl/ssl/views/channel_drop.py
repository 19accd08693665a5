"""``channel-drop``: zero each channel (electrode or ROI) of each signal with probability ``p``."""

from __future__ import annotations

import torch

from neurocl.ssl.views.base import VIEWS, check_probability
from neurocl.ssl.views.signal_base import SignalView
from neurocl.ssl.views.signal_functional import channel_drop


@VIEWS.register("channel-drop", "channel-dropout")
class ChannelDrop(SignalView):
    """Zero each channel (electrode or ROI) of each signal with probability ``p``.

    Parameters
    ----------
    p : float in [0, 1)
        Drop probability.
    """

    def __init__(self, p: float = 0.1) -> None:
        self.p = check_probability(p, "channel-drop p")

    def transform(
        self, x: torch.Tensor, lengths: torch.Tensor | None, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the viewed signals (batch, n_times, n_channels) and their lengths."""
        return channel_drop(x, self.p, generator), lengths
