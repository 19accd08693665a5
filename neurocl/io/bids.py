"""Identifiers from BIDS-style file names."""

from __future__ import annotations

import re
from pathlib import Path

_ENTITY = re.compile(r"(?:^|_)(sub|ses|run|task|acq|space|desc)-([A-Za-z0-9]+)")
_EXTENSIONS = (".nii.gz", ".tsv.gz", ".nii", ".tsv", ".csv", ".1d", ".txt", ".npy", ".npz")


def strip_extension(path: str | Path) -> str:
    """Return the file name without its (possibly double) extension."""
    name = Path(path).name
    lower = name.lower()
    for ext in _EXTENSIONS:
        if lower.endswith(ext):
            return name[: -len(ext)]
    return Path(name).stem


def parse_entities(path: str | Path) -> dict[str, str]:
    """Return the BIDS entities (``sub``, ``ses``, ``run``, ...) found in a file name.

    Examples
    --------
    >>> parse_entities("sub-01_ses-2_task-rest_run-3_bold.nii.gz")
    {'sub': '01', 'ses': '2', 'task': 'rest', 'run': '3'}
    """
    return {k: v for k, v in _ENTITY.findall(strip_extension(path))}


def ids_from_name(path: str | Path) -> dict[str, str]:
    """Return ``sample_id``, ``subject_id`` and, when present, ``session`` and ``run``.

    BIDS names give ``subject_id = "sub-XX"`` and a sample id made of the subject, session,
    task and run entities; other names use the file stem for both ids.

    Examples
    --------
    >>> ids_from_name("sub-01_ses-2_run-3_timeseries.tsv")["sample_id"]
    'sub-01_ses-2_run-3'
    >>> ids_from_name("patient7.csv")
    {'sample_id': 'patient7', 'subject_id': 'patient7'}
    """
    ent = parse_entities(path)
    if "sub" not in ent:
        stem = strip_extension(path)
        return {"sample_id": stem, "subject_id": stem}
    parts = [f"sub-{ent['sub']}"]
    out = {"subject_id": parts[0]}
    for key, col in (("ses", "session"), ("task", None), ("run", "run")):
        if key in ent:
            parts.append(f"{key}-{ent[key]}")
            if col:
                out[col] = ent[key]
    out["sample_id"] = "_".join(parts)
    return {"sample_id": out.pop("sample_id"), **out}
