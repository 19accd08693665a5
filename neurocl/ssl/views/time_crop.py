"""``time-crop``: a random segment of each signal."""

from __future__ import annotations

import torch

from neurocl._core.errors import ParameterError
from neurocl.ssl.views.base import VIEWS
from neurocl.ssl.views.signal_base import SignalView, check_size
from neurocl.ssl.views.signal_functional import n_samples, time_crop


@VIEWS.register("time-crop", "signal-crop")
class TimeCrop(SignalView):
    """A random segment of each signal (the signal-level crop; ``fc-crop`` makes FC of one).

    Parameters
    ----------
    length : float
        Segment length: a fraction of the shortest signal of the batch when <= 1, a number
        of samples otherwise.
    """

    def __init__(self, length: float = 0.8) -> None:
        self.length = check_size(length, "time-crop length")

    def n_times(self, shortest: int) -> int:
        """Segment length in samples for signals of at least ``shortest`` samples."""
        n = n_samples(self.length, shortest)
        if not 2 <= n <= shortest:
            raise ParameterError(
                f"time-crop length={self.length:g} gives {n} samples but the signals have "
                f"{shortest}; choose a length between 2 and {shortest} samples (or a fraction)"
            )
        return n

    def transform(
        self, x: torch.Tensor, lengths: torch.Tensor | None, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the viewed signals (batch, n_times, n_channels) and their lengths."""
        shortest = x.shape[1] if lengths is None else int(lengths.min())
        return time_crop(x, lengths, self.n_times(shortest), generator)
