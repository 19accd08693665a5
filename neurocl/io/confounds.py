"""Confounds, motion scrubbing and run exclusion for 4D fMRI images.

Confounds come either from nilearn's fMRIPrep strategies
(:func:`nilearn.interfaces.fmriprep.load_confounds_strategy`: ``simple``, ``compcor``,
``ica_aroma``) or from a TSV the user gives (every column is a regressor except the motion
summaries ``framewise_displacement``, ``dvars``, ``std_dvars``, ``rmsd``).

Scrubbing: frames whose framewise displacement (FD) exceeds ``fd_threshold`` are removed.
Exclusion rule: a run is excluded when the fraction of frames scrubbed exceeds
``max_scrubbed``. The mean FD of every run (over frames with a value; fMRIPrep leaves the
first frame empty) is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from neurocl._core.errors import InputFileError, ParameterError

#: nilearn's fMRIPrep denoising strategies that need no scrubbing of their own
STRATEGIES = ("simple", "compcor", "ica_aroma")
FD_COLUMN = "framewise_displacement"
_NOT_REGRESSORS = {FD_COLUMN, "dvars", "std_dvars", "rmsd"}


@dataclass
class RunConfounds:
    """Confounds and censoring of one run.

    Attributes
    ----------
    regressors : DataFrame or None
        Shape (n_frames, n_confounds); None when nothing is regressed.
    sample_mask : ndarray of int or None
        Indices of the frames kept (None: all).
    n_frames : int
        Frames in the run.
    n_scrubbed : int
        Frames removed for FD above the threshold.
    mean_fd : float
        Mean framewise displacement (NaN when the confounds hold no FD column).
    source : str or None
        The confounds file used.
    """

    regressors: pd.DataFrame | None
    sample_mask: np.ndarray | None
    n_frames: int
    n_scrubbed: int
    mean_fd: float
    source: str | None

    @property
    def fraction_scrubbed(self) -> float:
        """Fraction of the run's frames removed by scrubbing."""
        return self.n_scrubbed / self.n_frames if self.n_frames else 0.0


def fmriprep_confounds_file(image: str | Path) -> Path | None:
    """Return the fMRIPrep confounds TSV that belongs to a preprocessed BOLD image, if any.

    ``sub-01_task-rest_space-X_res-2_desc-preproc_bold.nii.gz`` belongs with
    ``sub-01_task-rest_desc-confounds_timeseries.tsv`` (or ``..._regressors.tsv``, older
    fMRIPrep) in the same folder.
    """
    image = Path(image)
    name = image.name
    stem = name.split("_desc-")[0] if "_desc-" in name else name.split("_bold")[0]
    parts = [p for p in stem.split("_") if not p.startswith(("space-", "res-", "den-"))]
    prefix = "_".join(parts)
    for suffix in ("_desc-confounds_timeseries.tsv", "_desc-confounds_regressors.tsv"):
        candidate = image.parent / f"{prefix}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def check_confounds_option(confounds: str | Path | None) -> str:
    """Return ``"none"``, a strategy name, or ``"file"`` for a confounds option.

    Raises
    ------
    ParameterError
        For a value that is neither a strategy, ``none`` nor an existing file.
    """
    if confounds is None or str(confounds).lower() == "none":
        return "none"
    text = str(confounds)
    if text.lower().replace("-", "_") in STRATEGIES:
        return text.lower().replace("-", "_")
    if Path(text).is_file():
        return "file"
    raise ParameterError(
        f"--confounds must be none, one of {', '.join(STRATEGIES)}, or a confounds TSV file; "
        f"got {text!r} (no such file)"
    )


def _read_tsv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", na_values=["n/a", "N/A", "NA", ""],
                           keep_default_na=False)
    except Exception as exc:
        raise InputFileError(f"cannot read the confounds table ({exc})", path) from exc


def run_confounds(
    image: str | Path,
    n_frames: int,
    confounds: str | Path | None,
    *,
    fd_threshold: float | None = None,
) -> RunConfounds:
    """Load the confounds of one run and censor high-motion frames.

    Parameters
    ----------
    image : str or Path
        The 4D image (fMRIPrep strategies find the confounds TSV beside it).
    n_frames : int
        Frames in the image.
    confounds : str, Path or None
        ``None``/``"none"``, a strategy in :data:`STRATEGIES`, or a TSV file.
    fd_threshold : float, optional
        Remove frames with FD above this (mm). Needs an FD column.

    Returns
    -------
    RunConfounds

    Raises
    ------
    InputFileError
        When the confounds file is missing, unreadable, has the wrong length, or lacks FD
        while ``fd_threshold`` is set.
    """
    image = Path(image)
    mode = check_confounds_option(confounds)
    regressors: pd.DataFrame | None = None
    sample_mask: np.ndarray | None = None
    table: pd.DataFrame | None = None
    source: Path | None = None
    if mode == "file":
        source = Path(str(confounds))
        table = _read_tsv(source)
        cols = [c for c in table.columns if c.lower() not in _NOT_REGRESSORS]
        regressors = table[cols].apply(pd.to_numeric, errors="coerce")
        regressors = regressors.fillna(regressors.mean()).fillna(0.0)
    else:
        source = fmriprep_confounds_file(image)
        if source is not None:
            table = _read_tsv(source)
        if mode != "none":
            if source is None:
                raise InputFileError(
                    f"no fMRIPrep confounds file beside it for --confounds {mode}; give the "
                    "confounds with --confounds FILE, or --confounds none",
                    image,
                )
            from nilearn.interfaces.fmriprep import load_confounds_strategy

            try:
                regressors, sample_mask = load_confounds_strategy(str(image),
                                                                  denoise_strategy=mode)
            except Exception as exc:  # nilearn raises ValueError/MissingConfound
                raise InputFileError(
                    f"nilearn could not load the {mode!r} confounds ({exc}); pick another "
                    "--confounds strategy or give a TSV",
                    source,
                ) from exc
    if table is not None and len(table) != n_frames:
        raise InputFileError(
            f"confounds table has {len(table)} rows but {image.name} has {n_frames} frames; "
            "give the confounds of this run",
            source,
        )
    fd = None
    if table is not None and FD_COLUMN in table.columns:
        fd = pd.to_numeric(table[FD_COLUMN], errors="coerce").to_numpy(dtype=float)
    mean_fd = float(np.nanmean(fd)) if fd is not None and np.isfinite(fd).any() else float("nan")
    n_scrubbed = 0
    if fd_threshold is not None:
        if fd is None:
            raise InputFileError(
                f"--fd-threshold needs a {FD_COLUMN!r} column in the confounds of {image.name}, "
                "and none was found; give a confounds TSV with FD or drop --fd-threshold",
                source or image,
            )
        keep = ~(np.nan_to_num(fd, nan=0.0) > fd_threshold)
        n_scrubbed = int((~keep).sum())
        kept = np.flatnonzero(keep)
        if sample_mask is not None:
            kept = np.intersect1d(kept, np.asarray(sample_mask))
        sample_mask = kept
    return RunConfounds(
        regressors=regressors,
        sample_mask=None if sample_mask is None else np.asarray(sample_mask, dtype=int),
        n_frames=n_frames,
        n_scrubbed=n_scrubbed,
        mean_fd=mean_fd,
        source=None if source is None else str(source),
    )
