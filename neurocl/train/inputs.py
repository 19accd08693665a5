"""What an encoder reads (static FC, dynamic FC, signals), checked against the dataset.

``--input fc|dynamic|timeseries`` picks the array of the dataset that is batched and fed to
the encoder; by default the encoder's own (``st-gnn`` reads dynamic FC, ``cnn-transformer``
signals, the graph encoders static FC). Incompatible combinations fail here, before
anything is written, with one sentence saying how to fix them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from neurocl._core.errors import DatasetError, ParameterError
from neurocl.data.dataset import FCDataset, TimeSeriesList
from neurocl.data.loader import DenseBatch, DenseLoader
from neurocl.ssl.objectives import EncoderObjective, Objective
from neurocl.ssl.views import ViewPipeline
from neurocl.train.config import INPUT_KINDS

#: views used when ``augment`` is not given, by input
DEFAULT_VIEWS: dict[str, list[str]] = {
    "fc": ["fc-crop"],
    "timeseries": ["time-mask", "freq-mask", "channel-drop"],
    "dynamic": [],
}

_HINT = {
    "fc": "a graph encoder (gin, gcn, sage, gat, brainnetcnn, transformer)",
    "dynamic": "--encoder st-gnn",
    "timeseries": "--encoder cnn-transformer",
}


def encoder_inputs(encoder: nn.Module) -> tuple[str, ...]:
    """Return the inputs an encoder reads, its default first (graph encoders: ``fc``)."""
    return tuple(getattr(encoder, "inputs", ("fc",)))


def resolve_input(
    requested: str | None, encoder: nn.Module, objective: Objective, encoder_name: str,
    objective_name: str,
) -> str:
    """Return the input kind of a run, or raise naming the incompatibility.

    Parameters
    ----------
    requested : str or None
        ``--input`` (None: the encoder's default).
    encoder : nn.Module
        The built encoder.
    objective : Objective
        The built objective.
    encoder_name, objective_name : str
        As given, for the messages.

    Returns
    -------
    {"fc", "dynamic", "timeseries"}

    Raises
    ------
    ParameterError
        When the encoder or the objective cannot work on that input.
    """
    supported = encoder_inputs(encoder)
    kind = supported[0] if requested is None else str(requested).strip().lower()
    if kind not in INPUT_KINDS:
        raise ParameterError(f"--input must be one of {', '.join(INPUT_KINDS)}; got {requested!r}")
    if kind not in supported:
        raise ParameterError(
            f"encoder {encoder_name!r} reads {' or '.join(supported)} input, not --input "
            f"{kind}; for {kind} input use {_HINT[kind]}"
        )
    if isinstance(objective, EncoderObjective):
        if kind not in objective.inputs:
            wanted = " or ".join(objective.inputs)
            raise ParameterError(
                f"objective {objective_name!r} works on {wanted} input, not {kind}; use "
                f"{_HINT[objective.inputs[0]]} with it, or another --objective"
            )
    elif kind != "fc":
        raise ParameterError(
            f"objective {objective_name!r} contrasts views of static FC, but the encoder reads "
            f"{kind} input; use --objective "
            f"{'masked-dfc' if kind == 'dynamic' else 'cross-model or masked-signal'}"
        )
    return kind


def resolve_augment(
    augment: Sequence[Any] | None, kind: str, objective: Objective, objective_name: str
) -> list[Any]:
    """Return the views of a run: the given ones, the input's default, or none.

    Raises
    ------
    ParameterError
        When views are given to an objective that uses none.
    """
    uses_views = not isinstance(objective, EncoderObjective) or objective.uses_views
    if not uses_views:
        if augment is not None:
            raise ParameterError(
                f"objective {objective_name!r} masks its input and uses no views, so --augment "
                "would do nothing; drop it"
            )
        return []
    return list(DEFAULT_VIEWS[kind] if augment is None else augment)


def check_views(pipeline: ViewPipeline, kind: str) -> None:
    """Raise :class:`ParameterError` when a view cannot act on (or change) the input.

    Signal encoders take signal views only; for FC input, signal views change the FC only
    through an ``fc-crop`` that follows them.
    """
    signal = [getattr(v, "acts_on_signals", False) for v in pipeline.views]
    names = [spec["name"] for spec in pipeline.specs()]
    if kind == "timeseries":
        wrong = [n for n, s in zip(names, signal, strict=True) if not s]
        if wrong:
            raise ParameterError(
                f"view {', '.join(wrong)} acts on FC matrices, but the encoder reads signals; "
                "use signal views (time-crop, time-shift, time-mask, gaussian-noise, freq-mask, "
                "channel-drop, amplitude-scale)"
            )
    elif kind == "fc":
        last_crop = max((i for i, v in enumerate(pipeline.views)
                         if v.needs_timeseries and not signal[i]), default=-1)
        late = [n for i, (n, s) in enumerate(zip(names, signal, strict=True))
                if s and i > last_crop]
        if late:
            raise ParameterError(
                f"view {', '.join(late)} changes the signals, which FC input only sees through "
                "an fc-crop after it; add fc-crop after it (e.g. --augment time-mask,fc-crop)"
            )


def input_arrays(dataset: FCDataset, kind: str) -> dict[str, Any]:
    """Return the arrays to batch for input ``kind`` (``timeseries`` / ``dynamic_fc``).

    Raises
    ------
    DatasetError
        When the dataset lacks them, with the command that makes them.
    """
    if kind == "dynamic":
        dyn = dataset.dynamic_fc
        if dyn is None:
            raise DatasetError(
                "has no dynamic FC, which st-gnn / masked-dfc need; rebuild it with a sliding "
                "window, e.g. `neurocl build-fc fmri ... --window 30 --stride 5`",
                dataset.path,
            )
        return {"dynamic_fc": dyn}
    if kind == "timeseries":
        ts = dataset.timeseries
        if ts is None:
            raise DatasetError(
                "has no time series, which cnn-transformer / --input timeseries need; rebuild "
                "it from signals with `neurocl build-fc` (datasets built from matrices have "
                "none)",
                dataset.path,
            )
        return {"timeseries": ts}
    return {}


def shortest_signal(timeseries: np.ndarray | TimeSeriesList) -> int:
    """Return the length of the shortest signal of a dataset."""
    if isinstance(timeseries, TimeSeriesList):
        return int(np.min(timeseries.lengths))
    return int(timeseries.shape[1])


def batch_input(batch: DenseBatch, kind: str) -> torch.Tensor:
    """Return the encoder input of ``batch``: FC, dynamic FC, or signals cut to the shortest."""
    if kind == "dynamic":
        assert batch.dynamic_fc is not None
        return batch.dynamic_fc
    if kind == "timeseries":
        assert batch.timeseries is not None
        n = batch.timeseries.shape[1] if batch.lengths is None else int(batch.lengths.min())
        return batch.timeseries[:, :n]
    return batch.fc


def embed_input(
    encoder: nn.Module, dataset: FCDataset, kind: str, embedding_dim: int,
    *, batch_size: int = 128,
) -> np.ndarray:
    """Embed every sample of ``dataset`` from input ``kind`` with a frozen encoder.

    Signals of different lengths are embedded in groups of equal length, so no sample is
    cut or padded.

    Returns
    -------
    ndarray of shape (n_samples, embedding_dim), float32
    """
    arrays = input_arrays(dataset, kind)
    dev = next(encoder.parameters()).device
    groups: list[np.ndarray] = [np.arange(dataset.n_samples)]
    ts = arrays.get("timeseries")
    if isinstance(ts, TimeSeriesList):
        lengths = ts.lengths
        groups = [np.flatnonzero(lengths == n) for n in np.unique(lengths)]
    out = np.empty((dataset.n_samples, embedding_dim), dtype=np.float32)
    with torch.no_grad():
        for group in groups:
            loader = DenseLoader(dataset.fc, ts, dynamic_fc=arrays.get("dynamic_fc"),
                                 batch_size=batch_size, device=dev, indices=group)
            for batch in loader:
                emb = encoder(batch_input(batch, kind)).graph.float().cpu().numpy()
                out[batch.index.numpy()] = emb
    return out
