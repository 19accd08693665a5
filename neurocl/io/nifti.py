"""ROI signals from 4D NIfTI images with nilearn's maskers.

The atlas is put on the images' voxel grid once per dataset (labels and maps are resampled
once, sphere voxels are found once), then every run is read, checked and passed through a
nilearn masker (:class:`~nilearn.maskers.NiftiLabelsMasker`,
:class:`~nilearn.maskers.NiftiMapsMasker` or :class:`~nilearn.maskers.NiftiSpheresMasker`)
that regresses the confounds, censors scrubbed frames, detrends, band-passes and
standardizes, in parallel over runs with joblib.

Coverage: for each run, the fraction of each region's voxels inside the run's brain mask
(fMRIPrep's ``desc-brain_mask`` when present, else the voxels whose signal varies in time).
A region below ``min_coverage`` in any run is either dropped from every run (the node count
stays the same across samples) or stops the build.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurocl._core.errors import InputFileError, ParameterError
from neurocl._core.progress import ProgressCallback, no_progress
from neurocl.io.atlases import Atlas, load_atlas
from neurocl.io.confounds import RunConfounds, check_confounds_option, run_confounds
from neurocl.io.fmriprep import ImageRun, find_fmriprep_runs, image_run

UNCOVERED_POLICIES = ("drop", "stop")


def is_image_input(inputs: Sequence[str | Path]) -> bool:
    """Whether ``inputs`` are NIfTI files or one folder (an fMRIPrep derivatives folder)."""
    paths = [Path(p) for p in inputs]
    if len(paths) == 1 and paths[0].is_dir():
        return True
    return bool(paths) and all(p.name.lower().endswith((".nii", ".nii.gz")) for p in paths)


@dataclass
class ImageHeader:
    """What the header of a 4D image says.

    Attributes
    ----------
    shape : tuple of int
        (nx, ny, nz, n_frames).
    affine : ndarray of shape (4, 4)
    t_r : float or None
        Repetition time in seconds from the header (None when absent).
    """

    shape: tuple[int, ...]
    affine: np.ndarray
    t_r: float | None


def read_header(path: str | Path) -> ImageHeader:
    """Read and check the header of a 4D image without loading its data.

    Raises
    ------
    InputFileError
        For a missing or unreadable file, or an image that is not 4D.
    """
    import nibabel as nib

    path = Path(path)
    if not path.is_file():
        raise InputFileError("file not found; check the image path", path)
    try:
        img: Any = nib.load(str(path))
        shape = tuple(int(s) for s in img.shape)
        affine = np.asarray(img.affine, dtype=np.float64)
        zooms = img.header.get_zooms()
        units = img.header.get_xyzt_units()[1] if hasattr(img.header, "get_xyzt_units") else ""
    except Exception as exc:  # nibabel raises many types for broken files
        raise InputFileError(
            f"cannot read the image ({type(exc).__name__}: {exc}); give a complete NIfTI "
            "(.nii or .nii.gz), re-copying it if the transfer was cut",
            path,
        ) from exc
    if len(shape) == 3 or (len(shape) == 4 and shape[3] == 1):
        raise InputFileError(
            f"is a 3D image (shape {shape}); build-fc fmri needs a 4D BOLD series "
            "(x, y, z, time): give the functional run, not an anatomical image or a mask",
            path,
        )
    if len(shape) != 4:
        raise InputFileError(
            f"has {len(shape)} dimensions (shape {shape}); give a 4D BOLD series (x, y, z, time)",
            path,
        )
    t_r: float | None = float(zooms[3]) if len(zooms) > 3 else None
    if t_r is not None:
        if units == "msec":
            t_r /= 1000.0
        elif units == "usec":
            t_r /= 1e6
        if not np.isfinite(t_r) or t_r <= 0:
            t_r = None
    return ImageHeader(shape=shape, affine=affine, t_r=t_r)


# --------------------------------------------------------------------------------------------
# the atlas on the image grid, computed once per dataset
# --------------------------------------------------------------------------------------------


def _resample_to_grid(img: Any, shape: tuple[int, ...], affine: np.ndarray,
                      interpolation: str) -> Any:
    """Resample ``img`` onto a voxel grid (the one place where atlases are resampled)."""
    from nilearn.image import resample_img

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return resample_img(img, target_affine=affine, target_shape=shape[:3],
                            interpolation=interpolation, force_resample=True,
                            copy_header=True)


@dataclass
class GridAtlas:
    """An atlas put on the images' voxel grid.

    Attributes
    ----------
    atlas : Atlas
        The atlas (nodes in order).
    image : Nifti1Image or None
        Labels relabelled 1..N in node order, or maps (4D), on the grid; None for spheres.
    voxels : list of ndarray
        Flat voxel indices of each node (for maps: voxels with positive weight).
    weights : list of ndarray or None
        For maps, the weight of each of those voxels.
    """

    atlas: Atlas
    image: Any
    voxels: list[np.ndarray]
    weights: list[np.ndarray] | None = None

    def coverage(self, mask: np.ndarray) -> np.ndarray:
        """Fraction of each node's voxels (weight for maps) inside a flat boolean mask."""
        out = np.zeros(len(self.voxels))
        for i, vox in enumerate(self.voxels):
            if vox.size == 0:
                continue
            if self.weights is None:
                out[i] = mask[vox].mean()
            else:
                w = self.weights[i]
                out[i] = float((w * mask[vox]).sum() / w.sum())
        return out

    def subset(self, keep: np.ndarray) -> GridAtlas:
        """Return the grid atlas restricted to the nodes where ``keep`` is True."""
        import nibabel as nib

        keep = np.asarray(keep, dtype=bool)
        atlas = self.atlas.subset(keep)
        voxels = [v for v, k in zip(self.voxels, keep, strict=True) if k]
        weights = (None if self.weights is None
                   else [w for w, k in zip(self.weights, keep, strict=True) if k])
        image = self.image
        if self.atlas.kind == "labels":
            data = np.zeros(image.shape, dtype=np.int32)
            for new, vox in enumerate(voxels, start=1):
                data.flat[vox] = new
            image = nib.Nifti1Image(data, image.affine)
        elif self.atlas.kind == "maps":
            image = nib.Nifti1Image(np.asarray(image.dataobj)[..., keep], image.affine)
        return GridAtlas(atlas, image, voxels, weights)


def atlas_on_grid(atlas: Atlas, shape: tuple[int, ...], affine: np.ndarray) -> GridAtlas:
    """Put an atlas on a voxel grid (resampling labels/maps once, finding sphere voxels).

    Parameters
    ----------
    atlas : Atlas
    shape : tuple of int
        The images' shape (the first three axes are used).
    affine : ndarray of shape (4, 4)
        The images' affine.

    Returns
    -------
    GridAtlas
    """
    import nibabel as nib

    shape3 = tuple(shape[:3])
    if atlas.kind == "spheres":
        assert atlas.coords is not None and atlas.radius is not None
        ijk = np.indices(shape3).reshape(3, -1).T
        xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
        inv = np.linalg.inv(affine)
        voxels = []
        # nilearn's sphere masker takes one radius: the atlas's largest, for every sphere
        radius = float(np.max(atlas.radius))
        for centre in atlas.coords:
            d2 = ((xyz - centre) ** 2).sum(axis=1)
            vox = np.flatnonzero(d2 <= radius**2)
            if vox.size == 0:  # nilearn keeps the nearest voxel when it is inside the grid
                c = np.rint(inv[:3, :3] @ centre + inv[:3, 3]).astype(int)
                if np.all(c >= 0) and np.all(c < shape3):
                    vox = np.array([np.ravel_multi_index(tuple(c), shape3)])
            voxels.append(vox)
        return GridAtlas(atlas, None, voxels)
    img = nib.load(atlas.image) if isinstance(atlas.image, str | Path) else atlas.image
    from nilearn.image.resampling import BoundingBoxError

    if atlas.kind == "labels":
        try:
            grid = _resample_to_grid(img, shape3, affine, "nearest")
        except BoundingBoxError:  # the atlas lies entirely outside the image
            empty = [np.zeros(0, dtype=np.int64)] * atlas.n_nodes
            return GridAtlas(atlas, nib.Nifti1Image(np.zeros(shape3, np.int32), affine), empty)
        data = np.rint(np.asarray(grid.dataobj)).astype(np.int64)
        if data.ndim == 4:
            data = data[..., 0]
        flat = data.ravel()
        order = np.argsort(flat, kind="stable")
        sorted_vals = flat[order]
        voxels = []
        for value in atlas.label_values:  # type: ignore[union-attr]
            lo, hi = np.searchsorted(sorted_vals, [value, value + 1])
            voxels.append(np.sort(order[lo:hi]))
        relabelled = np.zeros(shape3, dtype=np.int32)
        for new, vox in enumerate(voxels, start=1):
            relabelled.flat[vox] = new
        return GridAtlas(atlas, nib.Nifti1Image(relabelled, affine), voxels)
    try:
        grid = _resample_to_grid(img, shape3, affine, "continuous")
    except BoundingBoxError:
        empty = [np.zeros(0, dtype=np.int64)] * atlas.n_nodes
        maps0 = np.zeros((*shape3, atlas.n_nodes), np.float32)
        return GridAtlas(atlas, nib.Nifti1Image(maps0, affine), empty,
                         [np.zeros(0)] * atlas.n_nodes)
    maps = np.asarray(grid.dataobj, dtype=np.float32)
    flat = maps.reshape(-1, maps.shape[3])
    voxels = [np.flatnonzero(flat[:, i] > 0) for i in range(flat.shape[1])]
    weights = [flat[v, i].astype(float) for i, v in enumerate(voxels)]
    return GridAtlas(atlas, nib.Nifti1Image(maps, affine), voxels, weights)


# --------------------------------------------------------------------------------------------
# one run
# --------------------------------------------------------------------------------------------


@dataclass
class CleanOptions:
    """Temporal cleaning applied by the masker (nilearn ``signal.clean`` semantics)."""

    standardize: bool = False
    detrend: bool = False
    low_pass: float | None = None
    high_pass: float | None = None
    t_r: float | None = None


def _load_data(path: Path, shape: tuple[int, ...]) -> tuple[Any, np.ndarray]:
    import nibabel as nib

    try:
        img: Any = nib.load(str(path))
        proxy = img.dataobj
        if hasattr(proxy, "get_unscaled"):  # scale in float32 (nibabel scales in float64)
            data = np.asarray(proxy.get_unscaled(), dtype=np.float32)
            slope, inter = float(proxy.slope), float(proxy.inter)
            if slope != 1.0:
                data *= np.float32(slope)
            if inter != 0.0:
                data += np.float32(inter)
        else:
            data = np.asarray(proxy, dtype=np.float32)
    except Exception as exc:  # truncated gzip: EOFError, zlib.error, OSError ...
        raise InputFileError(
            f"cannot read the image data ({type(exc).__name__}: {exc}); the file is truncated "
            "or corrupted: copy or export it again",
            path,
        ) from exc
    if data.shape != tuple(shape):
        raise InputFileError(f"data shape {data.shape} differs from its header {shape}", path)
    if not np.isfinite(data).all():
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    return nib.Nifti1Image(data, img.affine, img.header), data


def _brain_mask(run: ImageRun, data: np.ndarray) -> np.ndarray:
    import nibabel as nib

    if run.mask is not None:
        try:
            mask_img: Any = nib.load(str(run.mask))
            mask = np.asarray(mask_img.dataobj) > 0
        except Exception as exc:
            raise InputFileError(f"cannot read the brain mask ({exc})", run.mask) from exc
        if mask.shape != data.shape[:3]:
            raise InputFileError(
                f"brain mask shape {mask.shape} differs from the image's {data.shape[:3]}; "
                "give the mask of this run",
                run.mask,
            )
        return mask.ravel()
    return (data.std(axis=3) > 0).ravel()


def _extract_run(
    run: ImageRun,
    header: ImageHeader,
    grid: GridAtlas,
    clean: CleanOptions,
    confounds: RunConfounds,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (signals (n_kept_frames, n_nodes) float32, coverage (n_nodes,))."""
    img, data = _load_data(run.path, header.shape)
    coverage = grid.coverage(_brain_mask(run, data))
    kwargs: dict[str, Any] = {
        "standardize": "zscore_sample" if clean.standardize else None,
        "detrend": clean.detrend,
        "low_pass": clean.low_pass,
        "high_pass": clean.high_pass,
        "t_r": clean.t_r,
    }
    kind = grid.atlas.kind
    if kind == "labels":
        from nilearn.maskers import NiftiLabelsMasker

        masker: Any = NiftiLabelsMasker(labels_img=grid.image, **kwargs)
    elif kind == "maps":
        from nilearn.maskers import NiftiMapsMasker

        masker = NiftiMapsMasker(maps_img=grid.image, **kwargs)
    else:
        from nilearn.maskers import NiftiSpheresMasker

        masker = NiftiSpheresMasker(
            seeds=[tuple(c) for c in grid.atlas.coords],  # type: ignore[union-attr]
            radius=float(np.max(grid.atlas.radius)),  # type: ignore[arg-type]
            allow_overlap=True, **kwargs,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signals = masker.fit_transform(
            img, confounds=confounds.regressors, sample_mask=confounds.sample_mask
        )
    signals = np.asarray(signals, dtype=np.float32)
    if signals.shape[1] != grid.atlas.n_nodes:
        raise InputFileError(
            f"the masker returned {signals.shape[1]} regions instead of {grid.atlas.n_nodes}; "
            "check that the atlas overlaps this image",
            run.path,
        )
    return signals, coverage


# --------------------------------------------------------------------------------------------
# a dataset of runs
# --------------------------------------------------------------------------------------------


@dataclass
class ImageSignals:
    """Cleaned ROI signals of the runs kept, ready for FC.

    Attributes
    ----------
    signals : list of ndarray
        One (n_frames_i, n_nodes) float32 array per kept run.
    subjects : DataFrame
        One row per kept run: ``sample_id``, ``subject_id``, [``session``, ``run``], ``task``,
        ``space``, ``n_frames``, ``n_scrubbed``, ``mean_fd``.
    nodes : DataFrame
        ``name``, ``network``, ``x``, ``y``, ``z`` of the nodes kept.
    sources : list of str
        The image of each kept run.
    report : dict
        Runs found, excluded runs and why, coverage (dropped nodes and where), t_r.
    meta : dict
        What goes into ``meta.json``.
    """

    signals: list[np.ndarray]
    subjects: pd.DataFrame
    nodes: pd.DataFrame
    sources: list[str]
    report: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def collect_runs(
    inputs: Sequence[str | Path],
    *,
    space: str | None = None,
    task: str | None = None,
    session: str | None = None,
) -> list[ImageRun]:
    """Turn the command-line inputs (NIfTI files or one fMRIPrep folder) into runs.

    For NIfTI files, ``space``/``task``/``session`` filter on the BIDS entities of their
    names, like for a folder.
    """
    paths = [Path(p) for p in inputs]
    if not paths:
        raise ParameterError("give at least one 4D NIfTI file or an fMRIPrep folder")
    if len(paths) == 1 and paths[0].is_dir():
        return find_fmriprep_runs(paths[0], space=space, task=task, session=session)
    for p in paths:
        if p.is_dir():
            raise ParameterError(
                f"{p} is a folder given together with other inputs; give one fMRIPrep folder "
                "or a list of NIfTI files"
            )
        if not p.is_file():
            raise InputFileError("file not found; check the image path", p)
    runs = [image_run(p) for p in paths]
    for key, val in (("space", space), ("task", task), ("session", session)):
        if val is None:
            continue
        val = val.split("-", 1)[1] if val.startswith(("space-", "task-", "ses-")) else val
        kept = [r for r in runs
                if (r.space if key == "space" else r.task if key == "task"
                    else r.ids.get("session")) == val]
        if not kept:
            raise InputFileError(
                f"--{key} {val} matches none of the {len(runs)} images (their names carry no "
                f"{key} {val}); drop --{key} or give matching images",
                paths[0],
            )
        runs = kept
    if len({r.space for r in runs if r.space is not None}) > 1:
        spaces = sorted({str(r.space) for r in runs if r.space is not None})
        raise InputFileError(
            f"the images are in several spaces ({', '.join(spaces)}); pass --space to choose "
            "one (runs in different spaces are never mixed)",
            paths[0],
        )
    return runs


def _check_grids(runs: list[ImageRun], headers: list[ImageHeader]) -> None:
    ref, ref_run = headers[0], runs[0]
    for run, h in zip(runs[1:], headers[1:], strict=True):
        same_shape = h.shape[:3] == ref.shape[:3]
        same_affine = np.allclose(h.affine, ref.affine, atol=1e-3)
        if not (same_shape and same_affine):
            what = (f"grid {h.shape[:3]}" if not same_shape
                    else f"affine with voxel size {np.round(np.abs(np.diag(h.affine)[:3]), 3)}")
            raise InputFileError(
                f"has a different voxel grid ({what}) from {ref_run.path.name} "
                f"({ref.shape[:3]}); images of one dataset must share one grid: resample them "
                "to one grid first (nilearn.image.resample_to_img, or fMRIPrep --output-spaces "
                "with one resolution) or build one dataset per grid",
                run.path,
            )


def extract_image_signals(
    inputs: Sequence[str | Path],
    *,
    atlas: str | Path | Atlas,
    networks: str | Path | None = None,
    space: str | None = None,
    task: str | None = None,
    session: str | None = None,
    confounds: str | Path | Sequence[str | Path] | None = None,
    fd_threshold: float | None = None,
    max_scrubbed: float = 0.5,
    standardize: bool = False,
    detrend: bool = False,
    low_pass: float | None = None,
    high_pass: float | None = None,
    t_r: float | None = None,
    uncovered: str = "drop",
    min_coverage: float = 0.5,
    n_jobs: int = 1,
    progress: ProgressCallback = no_progress,
) -> ImageSignals:
    """Extract cleaned ROI signals from 4D images or an fMRIPrep folder.

    Parameters
    ----------
    inputs : sequence of str or Path
        4D NIfTI files, or one fMRIPrep derivatives folder.
    atlas : str, Path or Atlas
        Built-in atlas name, labels/maps NIfTI or coordinate table (:func:`load_atlas`).
    networks : str or Path, optional
        Node table with names and networks for a user atlas.
    space, task, session : str, optional
        Keep only runs with these BIDS entities.
    confounds : str, Path, sequence or None
        ``None``/``"none"``, an fMRIPrep strategy (``"simple"``, ``"compcor"``,
        ``"ica_aroma"``), or TSV files (one, or one per run in input order).
    fd_threshold : float, optional
        Scrub frames with framewise displacement above this (mm).
    max_scrubbed : float
        Exclude a run when more than this fraction of its frames is scrubbed.
    standardize, detrend : bool
        z-score / linearly detrend each ROI signal.
    low_pass, high_pass : float, optional
        Band-pass edges in Hz.
    t_r : float, optional
        Repetition time (s); overrides the image headers.
    uncovered : {"drop", "stop"}
        What to do with regions under ``min_coverage`` in some run's brain mask.
    min_coverage : float
        Fraction of a region's voxels that must lie in every run's brain mask.
    n_jobs : int
        Runs extracted in parallel (joblib; -1: all cores).
    progress : callable
        Called as ``progress("extract", done, total)``.

    Returns
    -------
    ImageSignals

    Raises
    ------
    InputFileError
        For unreadable, 3D, truncated or mismatched images, an atlas that misses the
        images, confounds that do not fit, or uncovered regions with ``uncovered="stop"``.
    ParameterError
        For invalid options.
    """
    from joblib import Parallel, delayed

    if uncovered not in UNCOVERED_POLICIES:
        raise ParameterError(f"uncovered must be drop or stop; got {uncovered!r}")
    if not 0.0 <= min_coverage <= 1.0:
        raise ParameterError(f"--min-coverage must lie in [0, 1]; got {min_coverage}")
    if not 0.0 <= max_scrubbed <= 1.0:
        raise ParameterError(f"--max-scrubbed must lie in [0, 1]; got {max_scrubbed}")
    if fd_threshold is not None and fd_threshold <= 0:
        raise ParameterError(f"--fd-threshold must be > 0 mm; got {fd_threshold}")
    if t_r is not None and t_r <= 0:
        raise ParameterError(f"--t-r must be > 0 seconds; got {t_r}")
    if n_jobs == 0:
        raise ParameterError("--n-jobs must be a positive number of processes or -1")
    atlas_obj = load_atlas(atlas, networks=networks)
    runs = collect_runs(inputs, space=space, task=task, session=session)
    conf_list = _confounds_per_run(confounds, runs)
    headers = [read_header(r.path) for r in runs]
    _check_grids(runs, headers)

    # repetition time: the option wins, else the headers (which must agree)
    trs = [h.t_r for h in headers]
    if t_r is None:
        known = {round(tr, 6) for tr in trs if tr is not None}
        if len(known) > 1:
            first = trs[0]
            i = next(i for i, tr in enumerate(trs) if tr is not None and round(tr, 6) != first)
            raise InputFileError(
                f"has TR {trs[i]} s but {runs[0].path.name} has {first} s; build one dataset "
                "per TR, or pass --t-r if the headers are wrong",
                runs[i].path,
            )
        t_r = next(iter(known)) if known else None
    if (low_pass or high_pass) and t_r is None:
        raise InputFileError(
            "has no repetition time in its header and band-pass filtering needs one; pass --t-r",
            runs[0].path,
        )
    if t_r and low_pass and low_pass >= 0.5 / t_r:
        raise ParameterError(
            f"--low-pass {low_pass} Hz is at or above the Nyquist frequency {0.5 / t_r:g} Hz "
            f"of TR {t_r} s; lower it"
        )
    if high_pass and low_pass and high_pass >= low_pass:
        raise ParameterError(f"--high-pass {high_pass} must be below --low-pass {low_pass}")
    clean = CleanOptions(standardize, detrend, low_pass, high_pass, t_r)

    # confounds, scrubbing and the exclusion rule (cheap: tables only)
    run_conf = [
        run_confounds(r.path, h.shape[3], c, fd_threshold=fd_threshold)
        for r, h, c in zip(runs, headers, conf_list, strict=True)
    ]
    excluded = []
    keep_runs = []
    for i, (r, rc) in enumerate(zip(runs, run_conf, strict=True)):
        if fd_threshold is not None and rc.fraction_scrubbed > max_scrubbed:
            excluded.append({
                "sample_id": r.ids["sample_id"], "file": str(r.path),
                "reason": f"{rc.n_scrubbed} of {rc.n_frames} frames "
                          f"({rc.fraction_scrubbed:.0%}) have FD > {fd_threshold} mm, more "
                          f"than --max-scrubbed {max_scrubbed:.0%}",
                "mean_fd": rc.mean_fd,
            })
        else:
            keep_runs.append(i)
    if not keep_runs:
        raise InputFileError(
            f"all {len(runs)} runs are excluded for motion (more than {max_scrubbed:.0%} of "
            f"frames with FD > {fd_threshold} mm); raise --fd-threshold or --max-scrubbed",
            runs[0].path,
        )
    runs = [runs[i] for i in keep_runs]
    headers = [headers[i] for i in keep_runs]
    run_conf = [run_conf[i] for i in keep_runs]
    too_short = [(r, rc) for r, rc in zip(runs, run_conf, strict=True)
                 if rc.sample_mask is not None and len(rc.sample_mask) < 3]
    if too_short:
        r, rc = too_short[0]
        raise InputFileError(
            f"only {len(rc.sample_mask)} frames remain after scrubbing; raise --fd-threshold "  # type: ignore[arg-type]
            "or lower --max-scrubbed so that such runs are excluded",
            r.path,
        )

    # the atlas on the images' grid: once per dataset
    grid = atlas_on_grid(atlas_obj, headers[0].shape, headers[0].affine)
    sizes = np.array([v.size for v in grid.voxels])
    if not sizes.any():
        c = np.asarray(headers[0].affine)[:3, 3]
        raise InputFileError(
            f"the atlas {atlas_obj.name} does not overlap this image at all (image origin at "
            f"{np.round(c, 1).tolist()} mm): the image is not in the atlas's space (MNI); give "
            "images in MNI space (fMRIPrep --space MNI152NLin2009cAsym) or an atlas in the "
            "image's space",
            runs[0].path,
        )
    outside = sizes == 0
    if outside.any() and uncovered == "stop":
        names = atlas_obj.nodes["name"][outside].tolist()
        raise InputFileError(
            f"{int(outside.sum())} atlas regions lie outside the image's field of view "
            f"({', '.join(names[:5])}{' ...' if len(names) > 5 else ''}); pass --drop-uncovered "
            "to drop them from every sample",
            runs[0].path,
        )
    if outside.any():
        grid = grid.subset(~outside)

    total = len(runs)
    progress("extract", 0, total)
    jobs = (delayed(_extract_run)(r, h, grid, clean, rc)
            for r, h, rc in zip(runs, headers, run_conf, strict=True))
    results = []
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    for done, res in enumerate(parallel(jobs), start=1):
        results.append(res)
        progress("extract", done, total)
    signals = [s for s, _ in results]
    coverage = np.stack([c for _, c in results])  # (n_runs, n_nodes)

    low = coverage < min_coverage
    bad_nodes = low.any(axis=0)
    names = grid.atlas.nodes["name"].astype(str).tolist()
    coverage_report = {
        "min_coverage": min_coverage,
        "outside_field_of_view": atlas_obj.nodes["name"][outside].tolist(),
        "uncovered": [
            {"name": names[j],
             "samples": [runs[i].ids["sample_id"] for i in np.flatnonzero(low[:, j])],
             "min_coverage": float(coverage[:, j].min())}
            for j in np.flatnonzero(bad_nodes)
        ],
    }
    if bad_nodes.any():
        if uncovered == "stop":
            j = int(np.flatnonzero(bad_nodes)[0])
            i = int(np.flatnonzero(low[:, j])[0])
            raise InputFileError(
                f"{int(bad_nodes.sum())} regions have less than {min_coverage:.0%} of their "
                f"voxels in the brain mask of some runs (e.g. {names[j]!r}, "
                f"{coverage[i, j]:.0%} here); pass --drop-uncovered to drop them from every "
                "sample, or lower --min-coverage",
                runs[i].path,
            )
        keep = np.asarray(~bad_nodes, dtype=bool)
        signals = [s[:, keep] for s in signals]
        grid = grid.subset(keep)
    if grid.atlas.n_nodes < 2:
        raise InputFileError(
            f"fewer than 2 atlas regions are covered by the images (min coverage "
            f"{min_coverage:.0%}); check that the images and the atlas are in the same space",
            runs[0].path,
        )

    rows = []
    for r, rc, s in zip(runs, run_conf, signals, strict=True):
        rows.append({**r.ids, "task": r.task, "space": r.space, "n_frames": rc.n_frames,
                     "n_frames_kept": int(s.shape[0]), "n_scrubbed": rc.n_scrubbed,
                     "mean_fd": rc.mean_fd})
    subjects = pd.DataFrame(rows)
    for col in ("task", "space"):
        if subjects[col].isna().all():
            subjects = subjects.drop(columns=col)
    n_dropped = int(atlas_obj.n_nodes - grid.atlas.n_nodes)
    report = {
        "n_runs_found": len(runs) + len(excluded),
        "n_runs_used": len(runs),
        "excluded": excluded,
        "coverage": coverage_report,
        "n_nodes_dropped": n_dropped,
        "t_r": t_r,
    }
    meta = {
        "modality": "fmri",
        "input_type": "images",
        "atlas": atlas_obj.name,
        "atlas_kind": atlas_obj.kind,
        "atlas_n_regions": atlas_obj.n_nodes,
        "sphere_radius_mm": (None if atlas_obj.radius is None
                             else float(np.max(atlas_obj.radius))),
        "t_r": t_r,
        "space": runs[0].space,
        "task": task,
        "session": session,
        "cleaning": {
            "standardize": standardize, "detrend": detrend, "low_pass": low_pass,
            "high_pass": high_pass, "t_r": t_r,
            "confounds": _describe_confounds(confounds),
            "fd_threshold": fd_threshold,
            "exclusion_rule": (None if fd_threshold is None else
                               f"a run is excluded when more than {max_scrubbed:.0%} of its "
                               f"frames have FD > {fd_threshold} mm"),
        },
        "coverage": {"min_coverage": min_coverage, "policy": uncovered,
                     "dropped": [u["name"] for u in coverage_report["uncovered"]]
                     + coverage_report["outside_field_of_view"]},
        "excluded": excluded,
    }
    return ImageSignals(signals, subjects, grid.atlas.nodes.copy(),
                        [str(r.path) for r in runs], report, meta)


def _describe_confounds(confounds: Any) -> Any:
    if confounds is None or isinstance(confounds, str | Path):
        return None if confounds is None else str(confounds)
    return [str(c) for c in confounds]


def _confounds_per_run(
    confounds: str | Path | Sequence[str | Path] | None, runs: list[ImageRun]
) -> list[str | Path | None]:
    if confounds is None or isinstance(confounds, str | Path):
        values: list[Any] = [confounds]
    else:
        values = list(confounds)
    if not values:
        values = [None]
    modes = [check_confounds_option(v) for v in values]
    if len(values) == 1:
        if modes[0] == "file" and len(runs) > 1:
            raise ParameterError(
                f"one confounds file was given for {len(runs)} runs; give one --confounds "
                "FILE per image (in the same order) or a strategy such as simple"
            )
        return values * len(runs)
    if any(m != "file" for m in modes) or len(values) != len(runs):
        raise ParameterError(
            f"{len(values)} --confounds values for {len(runs)} runs; give one strategy, or "
            "one confounds file per image in the same order"
        )
    return values
