"""``fc-crop``: the FC of a random time segment of each subject's signals."""

from __future__ import annotations

import torch

from neurocl._core.errors import ParameterError
from neurocl.ssl.views.base import VIEWS, View, ViewBatch
from neurocl.ssl.views.functional import crop_starts, pearson, segment


@VIEWS.register("fc-crop", "crop")
class FCCrop(View):
    """Pearson FC of a random segment of each signal, computed on the batch's device.

    Two calls give two FC matrices of the same scan from different time segments: the
    natural positive pair in neuroimaging.

    Parameters
    ----------
    length : float
        Segment length: a fraction of the shortest signal of the batch when <= 1, a number
        of time points otherwise.
    fisher_z : bool
        Fisher z-transform the FC (set from the dataset, so views match its ``fc``).
    """

    needs_timeseries = True

    def __init__(self, length: float = 0.5, fisher_z: bool = False) -> None:
        if not length > 0:
            raise ParameterError(f"fc-crop length must be > 0; got {length!r}")
        self.length = float(length)
        self.fisher_z = bool(fisher_z)

    def n_times(self, shortest: int) -> int:
        """Segment length in time points for signals of at least ``shortest`` points."""
        n = int(round(self.length * shortest)) if self.length <= 1 else int(self.length)
        if not 3 <= n <= shortest:
            raise ParameterError(
                f"fc-crop length={self.length:g} gives {n} time points but the signals have "
                f"{shortest}; choose a length between 3 and {shortest} points (or a fraction)"
            )
        return n

    def __call__(self, batch: ViewBatch, generator: torch.Generator | None = None) -> ViewBatch:
        """Replace ``fc`` with the FC of random segments of ``timeseries``."""
        if batch.timeseries is None:
            raise ParameterError(
                "the fc-crop view needs the signals but the batch has none: build the "
                "dataset with its time series, or drop fc-crop from --augment"
            )
        ts = batch.timeseries
        lengths = batch.lengths
        if lengths is None:
            lengths = torch.full((ts.shape[0],), ts.shape[1], device=ts.device)
        n = self.n_times(int(lengths.min()))
        starts = crop_starts(lengths, n, generator)
        fc = pearson(segment(ts, starts, n), fisher_z=self.fisher_z).to(batch.fc.dtype)
        if batch.node_mask is not None:
            k = batch.node_mask.to(fc.dtype)
            fc = fc * k.unsqueeze(-1) * k.unsqueeze(-2)
        return batch.replace(fc=fc, x=None)
