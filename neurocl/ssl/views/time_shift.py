"""``time-shift``: roll each signal circularly in time by a random amount."""

from __future__ import annotations

import torch

from neurocl.ssl.views.base import VIEWS
from neurocl.ssl.views.signal_base import SignalView, check_size
from neurocl.ssl.views.signal_functional import n_samples, time_shift


@VIEWS.register("time-shift", "shift")
class TimeShift(SignalView):
    """Roll each signal circularly in time by a random amount.

    Parameters
    ----------
    max_shift : float
        Largest shift, as a fraction of the signal (<= 1) or in samples (> 1).
    """

    def __init__(self, max_shift: float = 0.2) -> None:
        self.max_shift = check_size(max_shift, "time-shift max_shift")

    def transform(
        self, x: torch.Tensor, lengths: torch.Tensor | None, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the viewed signals (batch, n_times, n_channels) and their lengths."""
        shortest = x.shape[1] if lengths is None else int(lengths.min())
        shift = min(n_samples(self.max_shift, shortest), shortest - 1)
        return time_shift(x, lengths, max(shift, 0), generator), lengths
