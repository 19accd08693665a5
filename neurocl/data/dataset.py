"""The on-disk dataset: one directory of plain files, written atomically.

Layout (schema version 1)::

    DATASET/
      meta.json            schema version, modality, kind, atlas, windows, cleaning, provenance
      subjects.tsv         one row per sample: sample_id, subject_id, [run, session, site],
                           then phenotype columns
      nodes.tsv            one row per node: name, network, x, y, z
      fc.npy               float32 [S, N, N]   static FC (EEG: the band in meta["band"])
      covariance.npy       float64 [S, N, N]   per-sample covariance (fMRI from signals)
      timeseries.npy       float32 [S, T, N]   cleaned signals, time x nodes (equal lengths), or
      timeseries.npy       float32 [sum T, N]  concatenated, with
      timeseries_offsets.npy int64 [S + 1]     row offsets (runs of different lengths)
      dynamic_fc.npy       float32 [S, W, N, N] sliding-window FC (when asked)
      fc_bands.npy         float32 [S, B, N, N] EEG: every band, names in meta["bands"]

Every array is loaded with ``allow_pickle=False`` and memory-mapped.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurocl._core.errors import DatasetError, ParameterError

SCHEMA_VERSION = 1
ARRAY_FILES = ("fc", "covariance", "timeseries", "timeseries_offsets", "dynamic_fc", "fc_bands")


class TimeSeriesList(Sequence[np.ndarray]):
    """Per-sample signals of different lengths, stored concatenated with offsets.

    Parameters
    ----------
    data : ndarray of shape (total_time, n_nodes)
        The signals of every sample, one after the other.
    offsets : ndarray of shape (n_samples + 1,)
        Sample ``i`` is ``data[offsets[i]:offsets[i + 1]]``.
    """

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self.data = data
        self.offsets = np.asarray(offsets, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> np.ndarray:  # type: ignore[override]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.data[self.offsets[index] : self.offsets[index + 1]]

    @property
    def lengths(self) -> np.ndarray:
        """Number of time points of each sample."""
        return np.diff(self.offsets)


class FCDataset:
    """A neurocl dataset directory, read lazily (arrays are memory-mapped).

    Use :func:`load_dataset` to open one.

    Attributes
    ----------
    path : Path
        The dataset directory.
    meta : dict
        The content of ``meta.json``.
    subjects : DataFrame
        One row per sample: ``sample_id``, ``subject_id`` and optional ``run``, ``session``,
        ``site``, then phenotype columns.
    nodes : DataFrame
        One row per node: ``name``, ``network``, ``x``, ``y``, ``z``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        meta_path = self.path / "meta.json"
        if not self.path.is_dir():
            raise DatasetError(
                "not a dataset directory; build one with `neurocl build-fc`", self.path
            )
        if not meta_path.is_file():
            raise DatasetError(
                "no meta.json: not a neurocl dataset (or an incomplete one); "
                "build it again with `neurocl build-fc`",
                self.path,
            )
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"meta.json is not valid JSON ({exc}); the dataset is damaged: rebuild it",
                self.path,
            ) from exc
        if not isinstance(self.meta, dict):
            raise DatasetError("meta.json holds no JSON object; rebuild the dataset", self.path)
        version = self.meta.get("schema_version")
        if version != SCHEMA_VERSION:
            raise DatasetError(
                f"schema version {version!r} is not supported (this neurocl reads "
                f"{SCHEMA_VERSION}); rebuild the dataset with this version of neurocl",
                self.path,
            )
        self.subjects = _read_table(self.path / "subjects.tsv")
        self.nodes = _read_table(self.path / "nodes.tsv")
        for col in ("x", "y", "z"):
            if col in self.nodes:
                self.nodes[col] = pd.to_numeric(self.nodes[col], errors="coerce")
        self._cache: dict[str, np.ndarray | None] = {}
        fc = self.fc
        if fc.shape != (len(self.subjects), len(self.nodes), len(self.nodes)):
            raise DatasetError(
                f"fc.npy has shape {fc.shape} but subjects.tsv has {len(self.subjects)} rows "
                f"and nodes.tsv {len(self.nodes)}; the dataset is inconsistent, rebuild it",
                self.path,
            )

    def _array(self, name: str) -> np.ndarray | None:
        if name not in self._cache:
            file = self.path / f"{name}.npy"
            if not file.is_file():
                self._cache[name] = None
                return None
            try:
                self._cache[name] = np.load(file, mmap_mode="r", allow_pickle=False)
            except ValueError as exc:
                raise DatasetError(
                    f"{file.name} holds Python objects or is damaged ({exc}); neurocl never "
                    "loads pickled data: rebuild the dataset",
                    self.path,
                ) from exc
        return self._cache[name]

    @property
    def fc(self) -> np.ndarray:
        """Static FC, ndarray of shape (n_samples, n_nodes, n_nodes)."""
        fc = self._array("fc")
        if fc is None:
            raise DatasetError("fc.npy is missing; rebuild the dataset", self.path)
        return fc

    @property
    def covariance(self) -> np.ndarray | None:
        """Per-sample covariance (n_samples, n_nodes, n_nodes), or None."""
        return self._array("covariance")

    @property
    def dynamic_fc(self) -> np.ndarray | None:
        """Sliding-window FC (n_samples, n_windows, n_nodes, n_nodes), or None."""
        return self._array("dynamic_fc")

    @property
    def fc_bands(self) -> np.ndarray | None:
        """EEG: FC of every band (n_samples, n_bands, n_nodes, n_nodes), or None."""
        return self._array("fc_bands")

    @property
    def timeseries(self) -> np.ndarray | TimeSeriesList | None:
        """Cleaned signals, time x nodes.

        An ndarray of shape (n_samples, n_times, n_nodes) when every sample has the same
        length, a :class:`TimeSeriesList` (``ts[i]`` is (n_times_i, n_nodes)) otherwise, or
        None when the dataset was built from matrices.
        """
        data = self._array("timeseries")
        if data is None:
            return None
        offsets = self._array("timeseries_offsets")
        if offsets is not None:
            return TimeSeriesList(data, np.asarray(offsets))
        return data

    def band_fc(self, band: str | None = None) -> np.ndarray:
        """Return the static FC of ``band`` (EEG datasets), or ``fc`` when ``band`` is None.

        Raises
        ------
        DatasetError
            When the dataset has no bands or no band of that name.
        """
        if band is None:
            return self.fc
        bands = list(self.meta.get("bands") or [])
        stack = self.fc_bands
        if stack is None or not bands:
            raise DatasetError(f"has no frequency bands; drop --band {band!r}", self.path)
        if band not in bands:
            raise DatasetError(
                f"has no band {band!r}; its bands are {', '.join(bands)}", self.path
            )
        return stack[:, bands.index(band)]

    def with_fc(self, fc: np.ndarray) -> FCDataset:
        """Return a view of this dataset whose static FC is ``fc`` (nothing is written).

        Parameters
        ----------
        fc : ndarray of shape (n_samples, n_nodes, n_nodes)
            E.g. the FC with one network masked.

        Raises
        ------
        DatasetError
            When ``fc`` does not have the dataset's shape.
        """
        expected = (self.n_samples, self.n_nodes, self.n_nodes)
        if tuple(np.shape(fc)) != expected:
            raise DatasetError(
                f"replacement FC has shape {tuple(np.shape(fc))}, not {expected} "
                "(samples, nodes, nodes)",
                self.path,
            )
        view = copy.copy(self)
        view._cache = {**self._cache, "fc": np.asarray(fc)}
        return view

    @property
    def n_samples(self) -> int:
        """Number of samples (rows of ``subjects``)."""
        return len(self.subjects)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    def networks(self) -> dict[str, list[int]]:
        """Map each network name to the indices of its nodes, in order of first appearance."""
        out: dict[str, list[int]] = {}
        for i, net in enumerate(self.nodes["network"].astype(str)):
            out.setdefault(net, []).append(i)
        return out

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready summary (what ``neurocl info`` prints)."""
        ts = self.timeseries
        if ts is None:
            n_times: Any = None
        elif isinstance(ts, TimeSeriesList):
            lengths = ts.lengths
            n_times = {"min": int(lengths.min()), "max": int(lengths.max())}
        else:
            n_times = int(ts.shape[1])
        fixed = {"sample_id", "subject_id", "run", "session", "site", "task", "space",
                 "n_frames", "n_frames_kept", "n_scrubbed", "epoch", "onset"}
        label_columns = [c for c in self.subjects.columns if c not in fixed]
        dfc = self.dynamic_fc
        return {
            "path": str(self.path),
            "modality": self.meta.get("modality"),
            "kind": self.meta.get("kind"),
            "fisher_z": self.meta.get("fisher_z"),
            "atlas": self.meta.get("atlas"),
            "n_samples": self.n_samples,
            "n_subjects": int(self.subjects["subject_id"].nunique()),
            "n_nodes": self.n_nodes,
            "networks": {k: len(v) for k, v in self.networks().items()},
            "label_columns": label_columns,
            "has_timeseries": ts is not None,
            "n_times": n_times,
            "has_dynamic_fc": dfc is not None,
            "n_windows": None if dfc is None else int(dfc.shape[1]),
            "bands": self.meta.get("bands"),
            "band": self.meta.get("band"),
            "neurocl_version": self.meta.get("neurocl_version"),
            "command": self.meta.get("command"),
        }

    def __repr__(self) -> str:
        return (
            f"FCDataset({str(self.path)!r}, samples={self.n_samples}, nodes={self.n_nodes}, "
            f"kind={self.meta.get('kind')!r})"
        )


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(f"{path.name} is missing; rebuild the dataset", path.parent)
    try:
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DatasetError(
            f"{path.name} cannot be read ({exc}); the dataset is damaged: rebuild it",
            path.parent,
        ) from exc


def check_output_location(out: str | Path, option: str = "--out") -> Path:
    """Raise :class:`ParameterError` unless ``out`` can be created where it is.

    Nothing is created: the nearest existing folder above ``out`` must be a writable folder.

    Parameters
    ----------
    out : str or Path
        A file or folder to be written.
    option : str
        The option that named it, for the message.

    Returns
    -------
    Path
        ``out`` as a Path.
    """
    out = Path(out)
    parent = out.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ParameterError(
            f"cannot create {out}: {parent} is a file, not a folder; choose another {option}"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(
            f"cannot create {out}: the folder {parent} is not writable; choose another "
            f"{option} or fix its permissions"
        )
    return out


def load_dataset(path: str | Path) -> FCDataset:
    """Open a dataset directory written by ``neurocl build-fc``.

    Parameters
    ----------
    path : str or Path
        The dataset directory.

    Returns
    -------
    FCDataset
        Arrays are memory-mapped and read on demand.

    Raises
    ------
    DatasetError
        When the directory is not a complete neurocl dataset of a supported schema version.

    Examples
    --------
    >>> ds = load_dataset("dev_aal.ds")  # doctest: +SKIP
    >>> ds.fc.shape, list(ds.nodes.columns)  # doctest: +SKIP
    ((115, 116, 116), ['name', 'network', 'x', 'y', 'z'])
    """
    return FCDataset(path)


@contextmanager
def atomic_directory(out: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling directory that replaces ``out`` when the block succeeds.

    On any exception the temporary directory is removed and ``out`` is left as it was.

    Parameters
    ----------
    out : str or Path
        The final directory.
    overwrite : bool
        Replace an existing ``out``; otherwise an existing ``out`` is an error.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise DatasetError("already exists; choose another --out or pass --overwrite", out)
    check_output_location(out)
    # the parent folders this write creates, outermost first: removed again if it fails
    created = [p for p in reversed(out.absolute().parents) if not p.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as exc:
        raise ParameterError(
            f"cannot create {out} ({exc.strerror}); choose another --out"
        ) from exc
    try:
        yield tmp
        if out.exists():
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(created):  # innermost first, and only while empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise


class DatasetWriter:
    """Write a dataset chunk by chunk into memory-mapped arrays, atomically.

    Arrays are allocated on disk (``allocate``), filled slice by slice, and the directory
    appears under its final name only when ``finish`` has written the tables and
    ``meta.json`` and the ``with`` block ends without error. Peak memory stays at one chunk.

    Parameters
    ----------
    out : str or Path
        The dataset directory to create.
    overwrite : bool
        Replace an existing directory.

    Examples
    --------
    >>> with DatasetWriter("big.ds") as w:  # doctest: +SKIP
    ...     fc = w.allocate("fc", (n_samples, n_nodes, n_nodes))
    ...     for start, chunk in chunks:
    ...         fc[start : start + len(chunk)] = chunk
    ...     w.finish(subjects, nodes, meta)
    """

    def __init__(self, out: str | Path, *, overwrite: bool = False) -> None:
        self.out = Path(out)
        self.overwrite = overwrite
        self._arrays: dict[str, np.ndarray] = {}
        self._finished = False

    def __enter__(self) -> DatasetWriter:
        self._context = atomic_directory(self.out, overwrite=self.overwrite)
        self.directory = self._context.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        for array in self._arrays.values():
            if isinstance(array, np.memmap):
                array.flush()
        self._arrays.clear()
        if exc_type is None and not self._finished:
            err = DatasetError("incomplete: finish() was not called, nothing written", self.out)
            self._context.__exit__(DatasetError, err, None)  # removes the temporary directory
            raise err
        return self._context.__exit__(exc_type, exc, tb)

    def allocate(self, name: str, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """Create ``name.npy`` of ``shape`` on disk and return it memory-mapped for writing."""
        array = np.lib.format.open_memmap(
            self.directory / f"{name}.npy", mode="w+", dtype=dtype, shape=shape
        )
        self._arrays[name] = array
        return array

    def save(self, name: str, array: np.ndarray, dtype: Any = np.float32) -> None:
        """Write a whole array at once."""
        np.save(self.directory / f"{name}.npy", np.ascontiguousarray(array, dtype=dtype),
                allow_pickle=False)

    def finish(self, subjects: pd.DataFrame, nodes: pd.DataFrame, meta: Mapping[str, Any]) -> None:
        """Write ``subjects.tsv``, ``nodes.tsv`` and ``meta.json`` (last, as the seal)."""
        from neurocl import __version__

        for col in ("sample_id", "subject_id"):
            if col not in subjects:
                raise DatasetError(f"subjects table lacks the {col!r} column", self.out)
        if subjects["sample_id"].duplicated().any():
            dup = subjects["sample_id"][subjects["sample_id"].duplicated()].iloc[0]
            raise DatasetError(f"sample_id {dup!r} appears more than once", self.out)
        full_meta = {
            "schema_version": SCHEMA_VERSION,
            **dict(meta),
            "n_samples": len(subjects),
            "n_nodes": len(nodes),
            "neurocl_version": __version__,
            "command": meta.get("command") or " ".join(["neurocl", *sys.argv[1:]]),
        }
        subjects.to_csv(self.directory / "subjects.tsv", sep="\t", index=False)
        node_table = nodes.copy()
        for col in ("x", "y", "z"):
            if col not in node_table:
                node_table[col] = np.nan
        node_table.to_csv(self.directory / "nodes.tsv", sep="\t", index=False)
        (self.directory / "meta.json").write_text(
            json.dumps(_jsonable(full_meta), indent=2) + "\n"
        )
        self._finished = True


def write_timeseries(writer: DatasetWriter, timeseries: np.ndarray | Sequence[np.ndarray]) -> None:
    """Store signals: one [S, T, N] array, or concatenated with offsets for unequal lengths."""
    if isinstance(timeseries, np.ndarray) and timeseries.ndim == 3:
        writer.save("timeseries", timeseries)
        return
    lengths = [len(x) for x in timeseries]
    n_nodes = int(np.shape(timeseries[0])[-1])
    if len(set(lengths)) == 1:
        data = writer.allocate("timeseries", (len(lengths), lengths[0], n_nodes))
        for i, x in enumerate(timeseries):
            data[i] = x
        return
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    data = writer.allocate("timeseries", (int(offsets[-1]), n_nodes))
    for i, x in enumerate(timeseries):
        data[offsets[i] : offsets[i + 1]] = x
    writer.save("timeseries_offsets", offsets, dtype=np.int64)


def write_dataset(
    out: str | Path,
    *,
    fc: np.ndarray,
    subjects: pd.DataFrame,
    nodes: pd.DataFrame,
    meta: Mapping[str, Any],
    covariance: np.ndarray | None = None,
    timeseries: np.ndarray | Sequence[np.ndarray] | None = None,
    dynamic_fc: np.ndarray | None = None,
    fc_bands: np.ndarray | None = None,
    overwrite: bool = False,
) -> FCDataset:
    """Write a dataset directory atomically and return it opened.

    Parameters
    ----------
    out : str or Path
        The dataset directory to create.
    fc : ndarray of shape (n_samples, n_nodes, n_nodes)
        Static FC.
    subjects : DataFrame
        One row per sample; must hold unique ``sample_id`` and a ``subject_id``.
    nodes : DataFrame
        One row per node with ``name`` and ``network`` (``x``, ``y``, ``z`` optional).
    meta : mapping
        Dataset metadata (modality, kind, ...); schema version, neurocl version and the
        command line are added.
    covariance : ndarray of shape (n_samples, n_nodes, n_nodes), optional
        Per-sample covariance.
    timeseries : ndarray (n_samples, n_times, n_nodes) or list of (n_times_i, n_nodes), optional
        Signals as time x nodes; different lengths are stored concatenated with offsets.
    dynamic_fc : ndarray of shape (n_samples, n_windows, n_nodes, n_nodes), optional
        Sliding-window FC.
    fc_bands : ndarray of shape (n_samples, n_bands, n_nodes, n_nodes), optional
        EEG: FC of every band.
    overwrite : bool
        Replace an existing directory.

    Returns
    -------
    FCDataset
        The written dataset.
    """
    n_samples, n_nodes = len(subjects), len(nodes)
    if fc.shape != (n_samples, n_nodes, n_nodes):
        raise DatasetError(
            f"fc has shape {fc.shape}, expected ({n_samples}, {n_nodes}, {n_nodes})", out
        )
    with DatasetWriter(out, overwrite=overwrite) as writer:
        writer.save("fc", fc)
        if covariance is not None:
            writer.save("covariance", covariance, np.float64)
        if timeseries is not None:
            write_timeseries(writer, timeseries)
        if dynamic_fc is not None:
            writer.save("dynamic_fc", dynamic_fc)
        if fc_bands is not None:
            writer.save("fc_bands", fc_bands)
        writer.finish(subjects, nodes, meta)
    return FCDataset(out)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj
