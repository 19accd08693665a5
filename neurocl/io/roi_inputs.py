"""Readers for ROI time series and precomputed connectivity matrices.

Accepted inputs (``input_type`` ``"timeseries"`` or ``"matrices"``, or detected):

- one ``.npz`` holding ``timeseries`` [S, T, N] (or ``matrices``/``fc`` [S, N, N]) plus
  per-sample 1-D fields of length S (``subject_id``, labels...);
- one ``.npy`` stack [S, T, N] or [S, N, N], ids from an ``ids`` array, the phenotype
  table's row order, or numbered;
- one file per sample (``.tsv``/``.csv``/``.1D``/``.txt``/``.npy``), 2-D: time x nodes or a
  square matrix; ids from the (BIDS) file names.

A square symmetric array is a matrix; a square array that is not symmetric is ambiguous (a
time series with T == N, or a damaged matrix) and needs an explicit ``input_type``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from neurocl._core.errors import InputFileError
from neurocl.io.bids import ids_from_name

INPUT_TYPES = ("auto", "timeseries", "matrices")
_TS_KEYS = ("timeseries", "time_series", "signals", "ts")
_MAT_KEYS = ("matrices", "fc", "connectivity", "connectomes", "matrix")
_ID_KEYS = ("sample_id", "ids", "id", "subject_id", "participant_id")
_SYM_TOL = 1e-5


@dataclass
class RoiInput:
    """Arrays read from the input files, one entry per sample.

    Attributes
    ----------
    input_type : {"timeseries", "matrices"}
    arrays : list of ndarray
        Time series (n_times, n_nodes) or matrices (n_nodes, n_nodes), float64.
    subjects : DataFrame
        ``sample_id``, ``subject_id`` (and ``session``/``run`` from BIDS names, and 1-D npz
        fields).
    sources : list of str
        The file each sample came from.
    node_names : list of str or None
        Column names of the input tables, when they had a header.
    ids_from_order : bool
        True when the sample ids are still placeholders to be taken from a phenotype table.
    """

    input_type: str
    arrays: list[np.ndarray]
    subjects: pd.DataFrame
    sources: list[str]
    node_names: list[str] | None = None
    ids_from_order: bool = False
    notes: list[str] = field(default_factory=list)


def _is_symmetric(a: np.ndarray) -> bool:
    scale = max(float(np.nanmax(np.abs(a))), 1e-12)
    return bool(np.nanmax(np.abs(a - np.swapaxes(a, -1, -2))) <= _SYM_TOL * scale)


def _detect(shape_tail: tuple[int, int], sample: np.ndarray, path: Path, given: str) -> str:
    if given != "auto":
        return given
    rows, cols = shape_tail
    if rows != cols:
        return "timeseries"
    if _is_symmetric(sample):
        return "matrices"
    raise InputFileError(
        f"square arrays ({rows} x {cols}) that are not symmetric: time series with as many "
        "time points as nodes, or damaged matrices; pass --input-type timeseries or matrices",
        path,
    )


def _check_numeric(arr: np.ndarray, path: Path, what: str = "the array") -> None:
    """Refuse arrays that are not real numbers (text, booleans, complex, objects)."""
    if arr.dtype.kind not in "iuf":
        raise InputFileError(
            f"{what} has dtype {arr.dtype}, not real numbers; save the signals or matrices "
            "as a float array",
            path,
        )


def _read_2d_table(path: Path) -> tuple[np.ndarray, list[str] | None]:
    suffix = path.name.lower()
    if path.stat().st_size == 0:
        raise InputFileError("is empty; give a table of time points x ROIs (or a matrix)", path)
    try:
        if suffix.endswith(".npy"):
            arr = np.load(path, allow_pickle=False)
            _check_numeric(arr, path)
            return np.asarray(arr, dtype=np.float64), None
        if suffix.endswith((".1d", ".txt")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
                arr = np.loadtxt(path, comments="#", ndmin=2, dtype=np.float64)
            if arr.size == 0:
                raise InputFileError(
                    "holds no numbers (only comments or blank lines); give a table of time "
                    "points x ROIs",
                    path,
                )
            return arr, None
        sep = "," if suffix.endswith(".csv") else "\t"
        raw = pd.read_csv(path, sep=sep, header=None, dtype=str, keep_default_na=False,
                          comment="#")
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(
            f"cannot read the file ({exc}); give a numeric table (or a .npy saved with "
            "numpy.save), re-saving it if it was cut short",
            path,
        ) from exc
    first = raw.iloc[0].tolist()
    header = not all(_is_number(v) for v in first) or _is_index_row(first)
    names = [str(v).strip() for v in first] if header else None
    body = raw.iloc[1:] if header else raw
    try:
        arr = body.replace("", "nan").astype(np.float64).to_numpy()
    except ValueError as exc:
        raise InputFileError(
            f"non-numeric values in the table ({exc}); give numbers only, one column per ROI "
            "(a header row of names is allowed)",
            path,
        ) from exc
    return arr, names


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _is_index_row(values: list[object]) -> bool:
    try:
        ints = [float(v) for v in values]
    except ValueError:
        return False
    n = len(ints)
    return n > 1 and (ints == list(range(1, n + 1)) or ints == list(range(n)))


def read_roi_inputs(paths: Sequence[str | Path], input_type: str = "auto") -> RoiInput:
    """Read ROI time series or matrices from ``paths``.

    Parameters
    ----------
    paths : sequence of str or Path
        One stack file (``.npz``/``.npy``) or one 2-D file per sample.
    input_type : {"auto", "timeseries", "matrices"}
        Force the interpretation of the arrays.

    Returns
    -------
    RoiInput

    Raises
    ------
    InputFileError
        For missing or unreadable files, wrong dimensions, ambiguous square arrays, or
        samples with different numbers of nodes.
    """
    if input_type not in INPUT_TYPES:
        raise InputFileError(
            f"--input-type must be one of {', '.join(INPUT_TYPES)}; got {input_type!r}"
        )
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputFileError("no input files given")
    for p in paths:
        if not p.is_file():
            raise InputFileError("file not found; check the path", p)
    if len(paths) == 1 and p.name.lower().endswith((".npz", ".npy")):
        stack = _read_stack(paths[0], input_type)
        if stack is not None:
            return stack
    return _read_per_sample(paths, input_type)


def _read_stack(path: Path, input_type: str) -> RoiInput | None:
    fields: dict[str, np.ndarray] = {}
    try:
        if path.name.lower().endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                fields = {k: z[k] for k in z.files}
        else:
            fields = {"__array__": np.load(path, mmap_mode="r", allow_pickle=False)}
    except ValueError as exc:
        raise InputFileError(
            f"cannot read the arrays ({exc}): the file holds Python objects (neurocl never "
            "unpickles) or is cut short; save plain numeric arrays with numpy.save/savez",
            path,
        ) from exc
    except Exception as exc:
        raise InputFileError(
            f"cannot read the file ({exc}): it is empty, cut short or not a NumPy file; save "
            "it again with numpy.save/savez",
            path,
        ) from exc
    key = next((k for k in _TS_KEYS if k in fields), None)
    given = input_type
    if key is not None and given == "auto":
        given = "timeseries"
    if key is None:
        key = next((k for k in _MAT_KEYS if k in fields), None)
        if key is not None and given == "auto":
            given = "matrices"
    if key is None:
        three_d = [k for k, v in fields.items() if v.ndim == 3]
        if len(three_d) != 1:
            if path.suffix.lower() == ".npy" and fields["__array__"].ndim == 2:
                return None  # a single 2-D sample
            raise InputFileError(
                f"found arrays {sorted(fields)}: expected one 3-D array named 'timeseries' "
                "[subjects, time, nodes] or 'matrices' [subjects, nodes, nodes]",
                path,
            )
        key = three_d[0]
    data = fields.pop(key)
    if data.ndim != 3:
        raise InputFileError(
            f"array {key!r} has shape {data.shape}; save a 3-D array [subjects, time, nodes] "
            "or [subjects, nodes, nodes] (one 2-D sample per file goes in its own file)",
            path,
        )
    _check_numeric(data, path, f"array {key!r}")
    kind = _detect(data.shape[1:], data[0], path, given)
    n = len(data)
    one_d = {k: v for k, v in fields.items() if v.ndim == 1 and len(v) == n}
    id_key = next((k for k in _ID_KEYS if k in one_d), None)
    if id_key is not None:
        ids = [str(v) for v in one_d[id_key]]
        subjects = pd.DataFrame({"sample_id": ids})
        subject_ids = one_d.get("subject_id", one_d[id_key])
        subjects["subject_id"] = [str(v) for v in subject_ids]
        from_order = False
    else:
        width = max(3, len(str(n - 1)))
        ids = [f"sample-{i:0{width}d}" for i in range(n)]
        subjects = pd.DataFrame({"sample_id": ids, "subject_id": ids})
        from_order = True
    for k, v in one_d.items():
        if k not in ("sample_id", "subject_id", id_key):
            subjects[k] = v.tolist() if v.dtype.kind in "US" else v
    # views of a memory-mapped .npy stack stay on disk until a chunk needs them
    arrays = list(data)
    return RoiInput(kind, arrays, subjects, [str(path)] * n, ids_from_order=from_order)


def _read_per_sample(paths: list[Path], input_type: str) -> RoiInput:
    arrays: list[np.ndarray] = []
    names: list[str] | None = None
    rows = []
    kind = input_type
    for path in paths:
        arr, cols = _read_2d_table(path)
        if arr.ndim != 2:
            raise InputFileError(
                f"array of shape {arr.shape}; expected 2-D (time x nodes, or nodes x nodes) "
                "per file, or one 3-D stack in a single .npz/.npy",
                path,
            )
        this = _detect(arr.shape, arr, path, input_type)
        if kind == "auto":
            kind = this
        elif this != kind:
            raise InputFileError(
                f"holds {this} but earlier files hold {kind}; give files of one type "
                "(or force it with --input-type)",
                path,
            )
        if names is None and cols is not None:
            names = cols
        arrays.append(arr)
        rows.append(ids_from_name(path))
    subjects = pd.DataFrame(rows)
    dup = subjects["sample_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputFileError(
            f"gives sample id {subjects['sample_id'][i]!r}, already used by another file; "
            "rename the files so each sample has its own id",
            paths[i],
        )
    cols_order = ["sample_id", "subject_id"] + [c for c in ("session", "run") if c in subjects]
    return RoiInput(kind, arrays, subjects[cols_order], [str(p) for p in paths],
                    node_names=names)
