"""Encoder features for a probe: from an embeddings table or a pretraining run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurocl._core.errors import CheckpointError, InputFileError

#: prefix of the embedding columns in an embeddings table
EMBEDDING_PREFIX = "emb_"


def align_embeddings(table: pd.DataFrame, sample_ids: pd.Series, source: str) -> np.ndarray:
    """Order the rows of an embeddings table like the dataset's samples.

    Parameters
    ----------
    table : DataFrame
        Holds ``sample_id`` and ``emb_*`` columns (other columns are ignored).
    sample_ids : Series
        ``dataset.subjects["sample_id"]``.
    source : str
        The file name, for messages.

    Returns
    -------
    ndarray of shape (n_samples, n_dims), float64

    Raises
    ------
    InputFileError
        No ``sample_id`` or ``emb_*`` column, duplicate ids, ids that differ from the
        dataset's, or non-finite values.
    """
    if "sample_id" not in table.columns:
        raise InputFileError(
            "the embeddings table has no 'sample_id' column; write it with `neurocl embed`",
            source,
        )
    cols = [c for c in table.columns if str(c).startswith(EMBEDDING_PREFIX)]
    if not cols:
        raise InputFileError(
            f"the embeddings table has no {EMBEDDING_PREFIX}* columns (it has "
            f"{', '.join(map(str, table.columns))}); write it with `neurocl embed`",
            source,
        )
    ids = table["sample_id"].astype(str)
    if ids.duplicated().any():
        raise InputFileError(
            f"sample_id {ids[ids.duplicated()].iloc[0]!r} appears more than once in the "
            "embeddings table; write it again with `neurocl embed`",
            source,
        )
    wanted = sample_ids.astype(str)
    missing = wanted[~wanted.isin(ids)]
    extra = ids[~ids.isin(wanted)]
    if len(missing) or len(extra):
        first = (missing if len(missing) else extra).iloc[0]
        raise InputFileError(
            f"the embeddings' sample ids do not match the dataset ({len(missing)} dataset "
            f"samples missing, {len(extra)} unknown ids, e.g. {first!r}); embed this dataset "
            "with `neurocl embed RUN DATASET`",
            source,
        )
    values = table.set_index(ids).loc[wanted, cols]
    try:
        out = values.to_numpy(dtype=np.float64)
    except ValueError as exc:
        raise InputFileError(f"the embedding columns are not numeric ({exc})", source) from exc
    if not np.all(np.isfinite(out)):
        raise InputFileError(
            "the embeddings hold NaN or infinite values; check the run that made them", source
        )
    return out


def load_embeddings(path: str | Path, sample_ids: pd.Series) -> np.ndarray:
    """Read an embeddings CSV/TSV and align it to the dataset's samples.

    Parameters
    ----------
    path : str or Path
        A table with ``sample_id`` and ``emb_0, emb_1, ...`` columns (what ``neurocl embed``
        writes); ``.tsv`` files are tab-separated.
    sample_ids : Series
        ``dataset.subjects["sample_id"]``.

    Returns
    -------
    ndarray of shape (n_samples, n_dims)
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("no such embeddings file; give a run folder or a CSV", path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    try:
        table = pd.read_csv(path, sep=sep)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(
            f"cannot be read as a table ({exc}); give the CSV that `neurocl embed` wrote "
            "(sample_id and emb_* columns)",
            path,
        ) from exc
    return align_embeddings(table, sample_ids, str(path))


def load_encoder(path: str | Path) -> Any:
    """Open a pretraining run folder with :func:`neurocl.train.run.load_run`.

    Raises
    ------
    CheckpointError
        When the training module is not available or the folder is not a run.
    """
    try:
        from neurocl.train.run import load_run
    except ImportError as exc:
        raise CheckpointError(
            "this neurocl has no pretraining module to open run folders; pass an "
            "embeddings CSV instead",
            path,
        ) from exc
    return load_run(path)


def is_embeddings_file(path: str | Path) -> bool:
    """Whether ``path`` names an embeddings table (a file) rather than a run folder."""
    path = Path(path)
    return path.is_file() or path.suffix.lower() in (".csv", ".tsv", ".txt")
