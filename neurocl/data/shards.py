"""Split a build into shards (``--shard i/n``) and merge the shard datasets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurocl._core.errors import DatasetError, ParameterError
from neurocl._core.progress import ProgressCallback, no_progress
from neurocl.connectivity.static import ConnectivityEstimator
from neurocl.data.dataset import DatasetWriter, FCDataset, TimeSeriesList, load_dataset

#: metadata that must agree between shards for them to form one dataset
_MUST_MATCH = ("modality", "kind", "shrinkage", "fisher_z", "window", "atlas", "bands", "band",
               "input_type", "cleaning", "t_r", "sfreq", "method")


def parse_shard(spec: str) -> tuple[int, int]:
    """Parse ``"i/n"`` (1-based: shard ``i`` of ``n``).

    Examples
    --------
    >>> parse_shard("3/64")
    (3, 64)
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match:
        raise ParameterError(f"--shard must look like i/n (e.g. 3/64); got {spec!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ParameterError(
            f"--shard {spec}: the index must be between 1 and the shard count {count}"
        )
    return index, count


def shard_indices(n_samples: int, spec: str) -> np.ndarray:
    """Return the samples of shard ``spec``: contiguous, near-equal blocks in input order.

    Parameters
    ----------
    n_samples : int
        Samples in the whole input.
    spec : str
        ``"i/n"``, 1-based.

    Returns
    -------
    ndarray of int
    """
    index, count = parse_shard(spec)
    bounds = np.linspace(0, n_samples, count + 1).round().astype(int)
    return np.arange(bounds[index - 1], bounds[index])


def merge_datasets(
    shards: Sequence[str | Path],
    out: str | Path,
    *,
    overwrite: bool = False,
    chunk_size: int = 256,
    command: str | None = None,
    progress: ProgressCallback = no_progress,
) -> FCDataset:
    """Concatenate shard datasets into one, chunk by chunk.

    Every shard must have the same nodes and build settings. Kind tangent is refitted on the
    merged covariances (one reference for all samples).

    Parameters
    ----------
    shards : sequence of str or Path
        Shard dataset directories, in the order their samples should appear.
    out : str or Path
        The merged dataset directory.
    overwrite : bool
        Replace an existing ``out``.
    chunk_size : int
        Samples copied at a time.
    command : str, optional
        Command line recorded in ``meta.json``.
    progress : callable
        Progress callback.

    Returns
    -------
    FCDataset
    """
    if not shards:
        raise ParameterError("merge-fc needs at least one shard dataset")
    parts = [load_dataset(p) for p in shards]
    first = parts[0]
    for part in parts[1:]:
        if not part.nodes[["name", "network"]].equals(first.nodes[["name", "network"]]):
            raise DatasetError(
                f"has other nodes than {first.path}; shards must come from one build", part.path
            )
        for key in _MUST_MATCH:
            if part.meta.get(key) != first.meta.get(key):
                raise DatasetError(
                    f"was built with {key}={part.meta.get(key)!r} but {first.path} with "
                    f"{first.meta.get(key)!r}; merge only shards of one build",
                    part.path,
                )
    subjects = pd.concat([p.subjects for p in parts], ignore_index=True)
    dup = subjects["sample_id"][subjects["sample_id"].duplicated()]
    if len(dup):
        raise DatasetError(
            f"sample {dup.iloc[0]!r} is in more than one shard; give each shard once",
            shards[0],
        )
    kind = first.meta.get("kind")
    if kind == "tangent" and first.dynamic_fc is not None:
        raise DatasetError(
            "dynamic FC of kind tangent needs one reference over every window and cannot be "
            "merged from shards; build it in one piece",
            first.path,
        )
    n_total = len(subjects)
    names = ("fc", "covariance", "dynamic_fc", "fc_bands")
    present = [n for n in names if all(p._array(n) is not None for p in parts)]
    meta: dict[str, Any] = {k: v for k, v in first.meta.items()
                            if k not in ("shard", "command", "n_samples", "n_nodes",
                                         "schema_version", "neurocl_version", "sources")}
    meta["sources"] = sorted({s for p in parts for s in (p.meta.get("sources") or [])})
    meta["merged_from"] = [str(p.path) for p in parts]
    meta["command"] = command
    with DatasetWriter(out, overwrite=overwrite) as writer:
        outs = {}
        for name in present:
            tail = parts[0]._array(name).shape[1:]
            dtype = parts[0]._array(name).dtype
            outs[name] = writer.allocate(name, (n_total, *tail), dtype)
        start = 0
        for k, part in enumerate(parts):
            for name in present:
                src = part._array(name)
                for c in range(0, len(src), chunk_size):
                    outs[name][start + c : start + min(c + chunk_size, len(src))] = src[
                        c : c + chunk_size]
            start += part.n_samples
            progress("merge", k + 1, len(parts))
        _merge_timeseries(writer, parts)
        if kind == "tangent" and "covariance" in outs:
            est = ConnectivityEstimator("tangent", chunk_size=chunk_size)
            est.fit_covariances(outs["covariance"])
            for c in range(0, n_total, chunk_size):
                outs["fc"][c : c + chunk_size] = est.transform_covariances(
                    outs["covariance"][c : c + chunk_size])
        writer.finish(subjects, first.nodes, meta)
    return FCDataset(out)


def _merge_timeseries(writer: DatasetWriter, parts: Sequence[FCDataset]) -> None:
    series = [p.timeseries for p in parts]
    if any(s is None for s in series):
        return
    lengths = np.concatenate([
        s.lengths if isinstance(s, TimeSeriesList) else np.full(len(s), s.shape[1])
        for s in series
    ])
    n_nodes = parts[0].n_nodes
    if len(set(lengths.tolist())) == 1:
        data = writer.allocate("timeseries", (len(lengths), int(lengths[0]), n_nodes))
        row = 0
        for s in series:
            for i in range(len(s)):
                data[row] = s[i]
                row += 1
        return
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    data = writer.allocate("timeseries", (int(offsets[-1]), n_nodes))
    row = 0
    for s in series:
        for i in range(len(s)):
            data[offsets[row] : offsets[row + 1]] = s[i]
            row += 1
    writer.save("timeseries_offsets", offsets, dtype=np.int64)
