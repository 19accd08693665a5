"""Find the preprocessed runs of an fMRIPrep derivatives folder.

Runs are ``sub-*/[ses-*/]func/*_desc-preproc_bold.nii[.gz]``; each comes with its confounds
(``*_desc-confounds_timeseries.tsv``) and brain mask (``*_desc-brain_mask.nii[.gz]``) when
fMRIPrep wrote them. Runs are filtered by space, task and session, and runs in different
spaces are never mixed in one dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neurocl._core.errors import InputFileError
from neurocl.io.bids import ids_from_name, parse_entities
from neurocl.io.confounds import fmriprep_confounds_file

#: the space of runs whose names carry no ``space-`` entity
NATIVE_SPACE = "native"


@dataclass
class ImageRun:
    """One 4D image to extract signals from.

    Attributes
    ----------
    path : Path
        The 4D NIfTI.
    ids : dict
        ``sample_id``, ``subject_id`` and, when known, ``session`` and ``run``.
    task, space : str or None
        BIDS entities of the file name.
    confounds : Path or None
        The confounds TSV found beside it (fMRIPrep).
    mask : Path or None
        The brain mask found beside it (fMRIPrep).
    """

    path: Path
    ids: dict[str, str] = field(default_factory=dict)
    task: str | None = None
    space: str | None = None
    confounds: Path | None = None
    mask: Path | None = None


def _mask_file(image: Path) -> Path | None:
    name = image.name
    if "_desc-preproc_bold" not in name:
        return None
    ext = ".nii.gz" if name.endswith(".nii.gz") else ".nii"
    candidate = image.parent / (name.split("_desc-preproc_bold")[0] + f"_desc-brain_mask{ext}")
    return candidate if candidate.is_file() else None


def image_run(path: str | Path, *, fmriprep: bool = False) -> ImageRun:
    """Describe one 4D image file (ids from its BIDS name, fMRIPrep siblings if present).

    In an fMRIPrep folder a run without a ``space-`` entity is in the native BOLD space;
    elsewhere its space is unknown (None).
    """
    path = Path(path)
    ent = parse_entities(path)
    return ImageRun(
        path=path,
        ids=ids_from_name(path),
        task=ent.get("task"),
        space=ent.get("space", NATIVE_SPACE if fmriprep else None),
        confounds=fmriprep_confounds_file(path),
        mask=_mask_file(path),
    )


def _counts(values: list[str | None]) -> str:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return ", ".join(f"{k} ({n})" for k, n in sorted(out.items()))


def find_fmriprep_runs(
    root: str | Path,
    *,
    space: str | None = None,
    task: str | None = None,
    session: str | None = None,
) -> list[ImageRun]:
    """List the preprocessed BOLD runs of an fMRIPrep derivatives folder.

    Parameters
    ----------
    root : str or Path
        The derivatives folder (the one holding ``sub-*`` folders).
    space : str, optional
        Keep runs in this space (``MNI152NLin2009cAsym``); required when the folder holds
        several spaces.
    task, session : str, optional
        Keep runs of this task / session (with or without the ``task-``/``ses-`` prefix).

    Returns
    -------
    list of ImageRun
        Sorted by file name.

    Raises
    ------
    InputFileError
        When the folder holds no preprocessed run, when a filter matches nothing (the message
        says which, and what is there), or when several spaces remain.
    """
    root = Path(root)
    files = sorted(
        p for pattern in ("sub-*/func/*_desc-preproc_bold.nii*",
                          "sub-*/ses-*/func/*_desc-preproc_bold.nii*")
        for p in root.glob(pattern)
    )
    if not files:
        raise InputFileError(
            "no sub-*/[ses-*/]func/*_desc-preproc_bold.nii.gz found; give an fMRIPrep "
            "derivatives folder (the one holding the sub-* folders) or 4D NIfTI files",
            root,
        )
    runs = [image_run(p, fmriprep=True) for p in files]
    wanted = {
        "space": None if space is None else space.removeprefix("space-"),
        "task": None if task is None else task.removeprefix("task-"),
        "session": None if session is None else session.removeprefix("ses-"),
    }

    def value(run: ImageRun, key: str) -> str | None:
        return {"space": run.space, "task": run.task,
                "session": run.ids.get("session")}[key]

    empty = [
        f"--{key} {val} matches no run (present: {_counts([value(r, key) for r in runs])})"
        for key, val in wanted.items()
        if val is not None and not any(value(r, key) == val for r in runs)
    ]
    if empty:
        raise InputFileError(
            f"of {len(runs)} preprocessed runs, " + "; ".join(empty), root
        )
    kept = [r for r in runs
            if all(val is None or value(r, key) == val for key, val in wanted.items())]
    if not kept:
        given = ", ".join(f"--{k} {v}" for k, v in wanted.items() if v is not None)
        combos = _counts([f"{r.space}/{r.task}/{r.ids.get('session')}" for r in runs])
        raise InputFileError(
            f"each of {given} matches some runs but no run matches all of them (space/task/"
            f"session present: {combos}); change one filter",
            root,
        )
    spaces = {r.space for r in kept}
    if len(spaces) > 1:
        raise InputFileError(
            f"the runs are in several spaces ({_counts([r.space for r in kept])}); pass "
            "--space to choose one (runs in different spaces are never mixed)",
            root,
        )
    return kept
