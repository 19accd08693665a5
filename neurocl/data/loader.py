"""Dense batching of memory-mapped datasets: FC as (batch, n, n), signals as (batch, time, n).

Brain graphs share their nodes, so a batch is a stack of matrices rather than a sparse
union of graphs. Only the rows of a batch are read from the memory-mapped arrays.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neurocl._core.errors import ParameterError
from neurocl.data.dataset import TimeSeriesList


@dataclass
class DenseBatch:
    """One batch of subjects as dense tensors.

    Attributes
    ----------
    index : Tensor of shape (batch,)
        Row numbers of the samples in the dataset.
    fc : Tensor of shape (batch, n_nodes, n_nodes)
        Static FC, float32.
    timeseries : Tensor of shape (batch, n_times, n_nodes) or None
        Signals, zero-padded at the end to the longest sample of the batch.
    lengths : Tensor of shape (batch,) or None
        Number of valid time points of each sample.
    dynamic_fc : Tensor of shape (batch, n_windows, n_nodes, n_nodes) or None
        Sliding-window FC, float32.
    """

    index: torch.Tensor
    fc: torch.Tensor
    timeseries: torch.Tensor | None = None
    lengths: torch.Tensor | None = None
    dynamic_fc: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.fc.shape[0])


def _rows(array: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Read rows ``index`` of a (memory-mapped) array in sorted order, returned in given order."""
    order = np.argsort(index, kind="stable")
    out = np.empty((len(index), *array.shape[1:]), dtype=np.float32)
    out[order] = array[index[order]]
    return out


def read_timeseries(
    timeseries: np.ndarray | TimeSeriesList, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Read the signals of samples ``index``, zero-padded to the longest one.

    Parameters
    ----------
    timeseries : ndarray (n_samples, n_times, n_nodes) or TimeSeriesList
    index : ndarray of shape (batch,)

    Returns
    -------
    signals : ndarray of shape (batch, max_times, n_nodes), float32
    lengths : ndarray of shape (batch,), int64
    """
    if isinstance(timeseries, TimeSeriesList):
        parts = [np.asarray(timeseries[int(i)], dtype=np.float32) for i in index]
        lengths = np.array([len(p) for p in parts], dtype=np.int64)
        out = np.zeros((len(parts), int(lengths.max()), parts[0].shape[1]), dtype=np.float32)
        for row, part in enumerate(parts):
            out[row, : len(part)] = part
        return out, lengths
    signals = _rows(timeseries, index)
    return signals, np.full(len(index), signals.shape[1], dtype=np.int64)


class DenseLoader:
    """Iterate over a dataset in dense batches, on a torch device.

    Parameters
    ----------
    fc : ndarray of shape (n_samples, n_nodes, n_nodes)
        Static FC (a memory map is fine: only the rows of a batch are read).
    timeseries : ndarray (n_samples, n_times, n_nodes) or TimeSeriesList, optional
        Signals, loaded with each batch when given.
    batch_size : int
        Samples per batch.
    shuffle : bool
        Draw a new order every epoch from ``generator``.
    generator : torch.Generator, optional
        Source of the shuffling order (seeded for repeatable runs).
    device : str or torch.device
        Where the tensors of each batch are put.
    indices : sequence of int, optional
        Restrict to these samples (default: all).
    min_batch : int
        A last batch smaller than this is dropped (contrastive losses need 2 samples).
    dynamic_fc : ndarray of shape (n_samples, n_windows, n_nodes, n_nodes), optional
        Sliding-window FC, loaded with each batch when given.
    sampler : iterable of int with a length, optional
        Positions in ``indices`` to visit, in order, re-iterated every epoch (e.g. a
        ``DistributedSampler``: this process's share of a seeded permutation); replaces
        ``shuffle``.

    Examples
    --------
    >>> fc = np.zeros((10, 4, 4), dtype=np.float32)
    >>> [len(b) for b in DenseLoader(fc, batch_size=4)]
    [4, 4, 2]
    """

    def __init__(
        self,
        fc: np.ndarray,
        timeseries: np.ndarray | TimeSeriesList | None = None,
        *,
        batch_size: int = 64,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
        indices: Sequence[int] | None = None,
        min_batch: int = 1,
        dynamic_fc: np.ndarray | None = None,
        sampler: Any = None,
    ) -> None:
        if batch_size < 1:
            raise ParameterError(f"batch_size must be >= 1; got {batch_size!r}")
        self.fc = fc
        self.timeseries = timeseries
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.generator = generator
        self.device = torch.device(device)
        self.indices = np.arange(len(fc)) if indices is None else np.asarray(indices)
        self.min_batch = min_batch
        self.dynamic_fc = dynamic_fc
        self.sampler = sampler

    def _order(self) -> np.ndarray:
        if self.sampler is not None:
            return self.indices[np.fromiter(iter(self.sampler), dtype=np.int64)]
        if not self.shuffle:
            return self.indices
        perm = torch.randperm(len(self.indices), generator=self.generator).numpy()
        return self.indices[perm]

    def __len__(self) -> int:
        n = len(self.indices) if self.sampler is None else len(self.sampler)
        full, rest = divmod(n, self.batch_size)
        return full + int(rest >= self.min_batch and rest > 0)

    def __iter__(self) -> Iterator[DenseBatch]:
        order = self._order()
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            if len(index) < self.min_batch:
                break
            yield self.load(index)

    def load(self, index: np.ndarray) -> DenseBatch:
        """Read samples ``index`` into a :class:`DenseBatch` on the loader's device."""
        index = np.asarray(index, dtype=np.int64)
        non_blocking = self.device.type == "cuda"
        fc = torch.from_numpy(_rows(self.fc, index))
        if non_blocking:
            fc = fc.pin_memory()
        batch = DenseBatch(
            index=torch.from_numpy(index),
            fc=fc.to(self.device, non_blocking=non_blocking),
        )
        if self.timeseries is not None:
            signals, lengths = read_timeseries(self.timeseries, index)
            ts = torch.from_numpy(signals)
            if non_blocking:
                ts = ts.pin_memory()
            batch.timeseries = ts.to(self.device, non_blocking=non_blocking)
            batch.lengths = torch.from_numpy(lengths).to(self.device)
        if self.dynamic_fc is not None:
            dyn = torch.from_numpy(_rows(self.dynamic_fc, index))
            if non_blocking:
                dyn = dyn.pin_memory()
            batch.dynamic_fc = dyn.to(self.device, non_blocking=non_blocking)
        return batch
