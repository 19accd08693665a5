"""Phenotype tables and the join of samples to their phenotype rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from neurocl._core.errors import InputFileError


def read_table(path: str | Path, id_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a TSV/CSV table with string ids kept as written.

    Parameters
    ----------
    path : str or Path
        ``.tsv``/``.txt`` (tab-separated) or ``.csv``.
    id_columns : sequence of str
        Columns read as text, never as numbers (``"001"`` stays ``"001"``).

    Returns
    -------
    DataFrame
        Empty cells and ``n/a`` become NaN; other numeric columns are parsed as numbers.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("file not found; check the path", path)
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        return pd.read_csv(path, sep=sep, na_values=["n/a", "N/A", "NA", ""],
                           keep_default_na=False, dtype={c: str for c in id_columns})
    except Exception as exc:
        raise InputFileError(
            f"cannot read the table ({exc}); give a tab-separated .tsv or a comma-separated "
            ".csv with a header row",
            path,
        ) from exc


@dataclass
class JoinReport:
    """What the phenotype join found.

    Attributes
    ----------
    matched_on : str
        ``sample_id`` or ``subject_id``: which sample column the ids matched.
    missing : list of str
        Samples without a phenotype row (kept, with empty phenotype cells).
    unused : list of str
        Phenotype rows without a sample (ignored).
    """

    matched_on: str
    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)


def join_phenotype(
    subjects: pd.DataFrame, path: str | Path, id_column: str
) -> tuple[pd.DataFrame, JoinReport]:
    """Add the phenotype columns of ``path`` to ``subjects``, one row per sample.

    The ids of ``id_column`` are matched against ``sample_id`` first, then against
    ``subject_id`` (several runs of one person share the person's row). Every sample keeps
    its row and its order.

    Parameters
    ----------
    subjects : DataFrame
        One row per sample with ``sample_id`` and ``subject_id``.
    path : str or Path
        The phenotype table.
    id_column : str
        The column of ``path`` holding the ids.

    Returns
    -------
    subjects : DataFrame
        ``subjects`` with the phenotype columns appended (a name clash gets ``_phenotype``).
    report : JoinReport

    Raises
    ------
    InputFileError
        When ``id_column`` is absent, an id appears twice, or no id matches any sample.
    """
    table = read_table(path, id_columns=[id_column])
    if id_column not in table.columns:
        raise InputFileError(
            f"no id column {id_column!r}; its columns are {', '.join(map(str, table.columns))}: "
            "pass --id-column with one of them",
            path,
        )
    ids = table[id_column].fillna("").astype(str).str.strip()
    if (ids == "").any():
        row = int(np.flatnonzero(ids == "")[0]) + 2  # line number, after the header
        raise InputFileError(
            f"line {row} has no id in column {id_column!r} (empty or n/a); fill it in or "
            "remove the row",
            path,
        )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputFileError(
            f"id {dup.iloc[0]!r} appears {int((ids == dup.iloc[0]).sum())} times in column "
            f"{id_column!r}; keep one row per id",
            path,
        )
    table = table.assign(**{id_column: ids})
    best = max(("sample_id", "subject_id"),
               key=lambda col: subjects[col].astype(str).str.strip().isin(ids).sum())
    keys = subjects[best].astype(str).str.strip()
    if not keys.isin(ids).any():
        raise InputFileError(
            f"none of the {len(ids)} ids in column {id_column!r} (e.g. {ids.iloc[0]!r}) matches "
            f"a sample (e.g. {subjects['sample_id'].iloc[0]!r}); check --id-column and the ids",
            path,
        )
    pheno = table.rename(columns={id_column: "__key__"})
    clash = [c for c in pheno.columns if c in subjects.columns and c != "__key__"]
    pheno = pheno.rename(columns={c: f"{c}_phenotype" for c in clash})
    merged = subjects.assign(__key__=keys.to_numpy()).merge(pheno, on="__key__", how="left",
                                                            sort=False)
    merged = merged.drop(columns="__key__")
    report = JoinReport(
        matched_on=best,
        missing=subjects.loc[~keys.isin(ids), "sample_id"].astype(str).tolist(),
        unused=sorted(set(ids) - set(keys)),
    )
    return merged.reset_index(drop=True), report
