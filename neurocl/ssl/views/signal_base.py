"""The frame of the views that act on signals (time crop, shift, mask, noise...)."""

from __future__ import annotations

import abc
from typing import ClassVar

import torch

from neurocl._core.errors import ParameterError
from neurocl.ssl.views.base import View, ViewBatch


class SignalView(View):
    """A view of the signals (batch, n_times, n_channels) of a :class:`ViewBatch`.

    Signal views run in the order given, like the matrix views, so ``time-mask,fc-crop``
    computes FC views from masked signals; for signal encoders (``cnn-transformer``) the
    viewed signals are the input. The batch given is never modified.
    """

    stage: ClassVar[str] = "fc"
    needs_timeseries: ClassVar[bool] = True
    #: marks the views that change signals, not matrices
    acts_on_signals: ClassVar[bool] = True

    def n_times(self, shortest: int) -> int:
        """Length of the viewed signals, for signals of at least ``shortest`` points.

        Raises
        ------
        ParameterError
            When the view does not fit signals of that length.
        """
        return int(shortest)

    @abc.abstractmethod
    def transform(
        self, x: torch.Tensor, lengths: torch.Tensor | None, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the viewed signals and their lengths."""

    def __call__(self, batch: ViewBatch, generator: torch.Generator | None = None) -> ViewBatch:
        """Return a batch whose ``timeseries`` (and ``lengths``) are viewed."""
        if batch.timeseries is None:
            raise ParameterError(
                f"the {type(self).__name__} view acts on signals but the batch has none: build "
                "the dataset with its time series, or drop it from --augment"
            )
        signals, lengths = self.transform(batch.timeseries, batch.lengths, generator)
        return batch.replace(timeseries=signals, lengths=lengths)


def check_size(value: float, name: str) -> float:
    """Raise :class:`ParameterError` unless ``value`` > 0 (a fraction <= 1, or samples)."""
    if not float(value) > 0:
        raise ParameterError(
            f"{name} must be > 0 (a fraction of the signal when <= 1, samples otherwise); "
            f"got {value!r}"
        )
    return float(value)
