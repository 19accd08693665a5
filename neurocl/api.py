"""The Python API behind every ``neurocl`` command.

Functions here return objects and write files; they never print and never exit. The
command line in :mod:`neurocl.cli` is a thin layer over them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from neurocl._core.errors import InputFileError, ParameterError
from neurocl._core.progress import ProgressCallback, no_progress
from neurocl.data.dataset import FCDataset, check_output_location, load_dataset

__all__ = [
    "BuildResult",
    "DemoResult",
    "EmbedResult",
    "ablate",
    "atlases",
    "build_fc_eeg",
    "build_fc_fmri",
    "build_fc_images",
    "demo",
    "embed",
    "importance",
    "info",
    "merge_fc",
    "report",
    "load_dataset",
    "simulate",
    "pretrain",
    "probe",
]


# --------------------------------------------------------------------------------------------
# build-fc: fMRI from ROI time series and precomputed matrices
# --------------------------------------------------------------------------------------------


@dataclass
class BuildResult:
    """What a build wrote.

    Attributes
    ----------
    dataset : FCDataset
        The dataset, opened.
    warnings : list of str
        Things the user should know (samples without phenotype rows, ...).
    report : dict
        Details as JSON-ready values (join report, exclusions, coverage...).
    """

    dataset: FCDataset
    warnings: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Dataset summary plus warnings and report, ready for ``--json``."""
        return {**self.dataset.summary(), "warnings": self.warnings, "report": self.report}


def _nodes_for(
    n_nodes: int,
    networks: str | Path | None,
    input_names: Sequence[str] | None,
    name_column: str | None,
    network_column: str | None,
) -> pd.DataFrame:
    from neurocl.io.networks import default_nodes, read_node_table

    if networks is None:
        nodes = default_nodes(n_nodes)
        if input_names is not None and len(input_names) == n_nodes:
            nodes["name"] = list(input_names)
        return nodes
    nodes = read_node_table(networks, name_column=name_column, network_column=network_column)
    if input_names is not None and set(input_names) <= set(nodes["name"]) and len(
        set(input_names)
    ) == n_nodes:
        return nodes.set_index("name").loc[list(input_names)].reset_index()
    if len(nodes) != n_nodes:
        raise InputFileError(
            f"lists {len(nodes)} nodes but the data have {n_nodes}; give one row per node, in "
            "the order of the data's columns",
            networks,
        )
    return nodes


def _with_scheduler(func: Any) -> Any:
    """Let ``func`` take ``scheduler=``: its joblib work then runs on that Dask cluster."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, scheduler: str | None = None, **kwargs: Any) -> Any:
        from neurocl._core.parallel import parallel_backend

        with parallel_backend(scheduler):
            return func(*args, **kwargs)

    return wrapper


@_with_scheduler
def build_fc_fmri(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    input_type: str = "auto",
    kind: str = "correlation",
    shrinkage: str | None = None,
    fisher_z: bool = False,
    window: int | None = None,
    stride: int = 1,
    networks: str | Path | None = None,
    name_column: str | None = None,
    network_column: str | None = None,
    atlas_name: str | None = None,
    phenotype: str | Path | None = None,
    id_column: str = "participant_id",
    standardize: bool = False,
    detrend: bool = False,
    high_pass: float | None = None,
    low_pass: float | None = None,
    t_r: float | None = None,
    device: str = "cpu",
    overwrite: bool = False,
    shard: str | None = None,
    command: str | None = None,
    progress: ProgressCallback = no_progress,
    **image_options: Any,
) -> BuildResult:
    """Build an fMRI FC dataset from ROI time series or precomputed matrices.

    4D NIfTI files or an fMRIPrep folder are handed to :func:`build_fc_images` (the
    ``image_options`` go there).

    Parameters
    ----------
    inputs : sequence of str or Path
        One ``.npz``/``.npy`` stack, or one table/array file per sample (see
        :mod:`neurocl.io.roi_inputs`).
    out : str or Path
        The dataset directory to write (atomically).
    input_type : {"auto", "timeseries", "matrices"}
        Interpretation of the inputs; ``auto`` detects it and refuses ambiguous files.
    kind : str
        FC kind: correlation, partial correlation, covariance, precision, tangent. For
        matrices: what they hold.
    shrinkage : {"empirical", "ledoit-wolf"} or None
        Covariance estimator.
    fisher_z : bool
        Fisher z-transform (correlation kinds; diagonal zeroed).
    window, stride : int
        Dynamic FC: window length and step in frames (``window=None``: static only).
    networks : str or Path, optional
        Node table with names, networks and optional centroids (one row per node).
    name_column, network_column : str, optional
        Column names in ``networks`` when not ``name``/``network``.
    atlas_name : str, optional
        A name recorded in the metadata (defaults to the network file's name).
    phenotype : str or Path, optional
        Table joined to the samples on ``id_column``.
    id_column : str
        Id column of ``phenotype``.
    standardize, detrend : bool
        Cleaning steps (nilearn ``signal.clean``); inputs are used as given otherwise.
    high_pass, low_pass : float, optional
        Band-pass edges in Hz (need ``t_r``).
    t_r : float, optional
        Repetition time in seconds.
    device : str
        Torch device for FC.
    overwrite : bool
        Replace an existing dataset.
    shard : str, optional
        ``"i/n"``: build only shard ``i`` of ``n`` (1-based, contiguous blocks of samples in
        input order, after the phenotype join); join shards with :func:`merge_fc`.
    command : str, optional
        The command line recorded in ``meta.json``.
    progress : callable
        Progress callback.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``): the parallel work (image
        extraction, FC chunks) runs there through joblib's Dask backend.
    **image_options
        For image inputs only: ``atlas``, ``space``, ``task``, ``session``, ``confounds``,
        ``fd_threshold``, ``max_scrubbed``, ``uncovered``, ``min_coverage``, ``n_jobs`` (see
        :func:`build_fc_images`); ``n_jobs`` also parallelises the FC chunks of ROI inputs.

    Returns
    -------
    BuildResult
    """
    from neurocl.io.nifti import is_image_input

    if is_image_input(inputs):
        if input_type not in ("auto", "images"):
            raise ParameterError(
                f"--input-type {input_type} does not fit 4D images; drop --input-type"
            )
        if atlas_name:
            raise ParameterError(
                "--atlas-name applies to ROI inputs; with images the atlas is named by --atlas"
            )
        if name_column or network_column:
            raise ParameterError(
                "--name-column/--network-column apply to ROI inputs; for images give the "
                "network table with --networks (name and network columns)"
            )
        return build_fc_images(
            inputs, out, networks=networks, kind=kind, shrinkage=shrinkage, fisher_z=fisher_z,
            window=window, stride=stride, phenotype=phenotype, id_column=id_column,
            standardize=standardize, detrend=detrend, high_pass=high_pass, low_pass=low_pass,
            t_r=t_r, device=device, overwrite=overwrite, command=command, progress=progress,
            **image_options,
        )
    n_jobs = int(image_options.pop("n_jobs", None) or 1)  # ROI inputs: FC chunks in parallel
    given = sorted(k for k, v in image_options.items() if v not in (None, False))
    if given:
        raise ParameterError(
            f"{', '.join(given)} apply to 4D NIfTI images or an fMRIPrep folder, but the inputs "
            "are ROI time series or matrices; drop those options"
        )
    from neurocl.data.build import build_from_matrices, build_from_signals
    from neurocl.io.cleaning import CleaningOptions, clean_signals
    from neurocl.io.roi_inputs import read_roi_inputs
    from neurocl.io.tables import join_phenotype, read_table

    cleaning = CleaningOptions(standardize, detrend, high_pass, low_pass, t_r)
    cleaning.check()
    if window is not None and window < 2:
        raise ParameterError(f"--window must be at least 2 frames; got {window}")
    data = read_roi_inputs(inputs, input_type)
    subjects = data.subjects
    warnings: list[str] = []
    report: dict[str, Any] = {"input_type": data.input_type}
    if data.ids_from_order and phenotype is not None:
        table = read_table(phenotype, id_columns=[id_column])
        if id_column not in table.columns:
            raise InputFileError(
                f"no id column {id_column!r}; its columns are "
                f"{', '.join(map(str, table.columns))}: pass --id-column with one of them",
                phenotype,
            )
        if len(table) != len(subjects):
            raise InputFileError(
                f"has {len(table)} rows but the stack has {len(subjects)} samples without ids; "
                "give one row per sample in stack order, or store an 'ids' array",
                phenotype,
            )
        ids = table[id_column].astype(str).tolist()
        subjects = subjects.assign(sample_id=ids, subject_id=ids)
        warnings.append(f"sample ids taken from the row order of {phenotype}")
    if subjects["sample_id"].duplicated().any():
        dup = subjects["sample_id"][subjects["sample_id"].duplicated()].iloc[0]
        raise InputFileError(
            f"sample id {dup!r} appears more than once; every sample needs its own id "
            "(several runs of a person: give them distinct sample ids and one subject_id)",
            data.sources[0],
        )
    if phenotype is not None:
        subjects, join = join_phenotype(subjects, phenotype, id_column)
        report["phenotype"] = {"matched_on": join.matched_on, "missing": join.missing,
                               "unused": join.unused}
        if join.missing:
            more = " ..." if len(join.missing) > 5 else ""
            warnings.append(
                f"{len(join.missing)} samples have no row in {phenotype} (kept with empty "
                f"phenotype): {', '.join(join.missing[:5])}{more}"
            )
        if join.unused:
            warnings.append(f"{len(join.unused)} rows of {phenotype} match no sample (ignored)")
    shard_meta = None
    if shard is not None:
        from neurocl.data.shards import parse_shard, shard_indices

        keep = shard_indices(len(subjects), shard)
        if len(keep) == 0:
            raise ParameterError(
                f"--shard {shard} holds no sample ({len(subjects)} samples in all); use fewer "
                "shards"
            )
        subjects = subjects.iloc[keep].reset_index(drop=True)
        data.arrays = [data.arrays[i] for i in keep]
        data.sources = [data.sources[i] for i in keep]
        index, count = parse_shard(shard)
        shard_meta = {"index": index, "count": count, "n_total": int(len(data.subjects)),
                      "first": int(keep[0]), "stop": int(keep[-1]) + 1}
    n_nodes = data.arrays[0].shape[1]
    nodes = _nodes_for(n_nodes, networks, data.node_names, name_column, network_column)
    meta = {
        "shard": shard_meta,
        "modality": "fmri",
        "input_type": data.input_type,
        "atlas": atlas_name or (Path(networks).name if networks else None),
        "t_r": t_r,
        "cleaning": cleaning.as_dict() if cleaning.active else None,
        "sources": sorted(set(data.sources)),
        "phenotype": str(phenotype) if phenotype else None,
        "command": command,
    }
    if data.input_type == "matrices":
        if cleaning.active or window is not None or shrinkage not in (None, "empirical"):
            raise ParameterError(
                "cleaning, --window and --shrinkage need time series, but the inputs are "
                "matrices; drop those options"
            )
        ds = build_from_matrices(out, data.arrays, subjects, nodes, kind=kind, fisher_z=fisher_z,
                                 meta=meta, sources=data.sources, overwrite=overwrite)
        return BuildResult(ds, warnings, report)
    signals = data.arrays
    if cleaning.active:
        signals = [clean_signals(x, cleaning) for x in signals]
    ds = build_from_signals(
        out, signals, subjects, nodes, kind=kind, shrinkage=shrinkage, fisher_z=fisher_z,
        window=window, stride=stride, meta=meta, sources=data.sources, device=device,
        overwrite=overwrite, n_jobs=n_jobs, progress=progress,
    )
    return BuildResult(ds, warnings, report)


# --------------------------------------------------------------------------------------------
# build-fc: fMRI from 4D images and fMRIPrep folders; atlases
# --------------------------------------------------------------------------------------------


def build_fc_images(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    atlas: str | Path | None = None,
    networks: str | Path | None = None,
    space: str | None = None,
    task: str | None = None,
    session: str | None = None,
    confounds: str | Path | Sequence[str | Path] | None = None,
    fd_threshold: float | None = None,
    max_scrubbed: float = 0.5,
    standardize: bool = False,
    detrend: bool = False,
    high_pass: float | None = None,
    low_pass: float | None = None,
    t_r: float | None = None,
    uncovered: str = "drop",
    min_coverage: float = 0.5,
    n_jobs: int = 1,
    kind: str = "correlation",
    shrinkage: str | None = None,
    fisher_z: bool = False,
    window: int | None = None,
    stride: int = 1,
    phenotype: str | Path | None = None,
    id_column: str = "participant_id",
    device: str = "cpu",
    overwrite: bool = False,
    command: str | None = None,
    progress: ProgressCallback = no_progress,
) -> BuildResult:
    """Build an fMRI FC dataset from 4D NIfTI images or an fMRIPrep derivatives folder.

    Parameters
    ----------
    inputs : sequence of str or Path
        4D NIfTI files (one sample each), or one fMRIPrep derivatives folder.
    out : str or Path
        The dataset directory to write (atomically).
    atlas : str or Path
        Built-in atlas (``schaefer100``, ``schaefer200``, ``dosenbach2010``,
        ``seitzman2018``; see :func:`atlases`), a labels or maps NIfTI, or a coordinate table.
    networks : str or Path, optional
        Node table (name, network; optional index and x/y/z) for a user atlas.
    space, task, session : str, optional
        Keep only runs with these BIDS entities; a folder with several spaces needs ``space``.
    confounds : str, Path, sequence or None
        ``None``/``"none"``, an fMRIPrep strategy of nilearn (``"simple"``, ``"compcor"``,
        ``"ica_aroma"``), or confounds TSVs (one per image, in input order).
    fd_threshold : float, optional
        Scrub frames with framewise displacement above this (mm).
    max_scrubbed : float
        Exclusion rule: a run is excluded when more than this fraction of its frames is
        scrubbed.
    standardize, detrend : bool
        z-score / linearly detrend each ROI signal.
    high_pass, low_pass : float, optional
        Band-pass edges in Hz.
    t_r : float, optional
        Repetition time (s); read from the image headers otherwise.
    uncovered : {"drop", "stop"}
        Regions under ``min_coverage`` of some run's brain mask: drop them from every sample,
        or stop with an error.
    min_coverage : float
        Fraction of a region's voxels that must lie in every run's brain mask.
    n_jobs : int
        Runs extracted in parallel (joblib; -1 for all cores).
    kind, shrinkage, fisher_z, window, stride, phenotype, id_column, device, overwrite, command
        As for :func:`build_fc_fmri`.
    progress : callable
        Progress callback (stages ``extract`` and ``fc``).

    Returns
    -------
    BuildResult
        ``report`` holds the runs found and used, excluded runs with the reason, the coverage
        report (regions dropped and where) and the phenotype join.
    """
    from neurocl.data.build import build_from_signals
    from neurocl.io.nifti import extract_image_signals
    from neurocl.io.tables import join_phenotype

    if atlas is None:
        from neurocl.io.atlases import builtin_atlas_names

        raise ParameterError(
            "images need an atlas: pass --atlas with a built-in name "
            f"({', '.join(builtin_atlas_names())}) or a labels NIfTI / coordinate table"
        )
    if window is not None and window < 2:
        raise ParameterError(f"--window must be at least 2 frames; got {window}")
    data = extract_image_signals(
        inputs, atlas=atlas, networks=networks, space=space, task=task, session=session,
        confounds=confounds, fd_threshold=fd_threshold, max_scrubbed=max_scrubbed,
        standardize=standardize, detrend=detrend, low_pass=low_pass, high_pass=high_pass,
        t_r=t_r, uncovered=uncovered, min_coverage=min_coverage, n_jobs=n_jobs,
        progress=progress,
    )
    subjects = data.subjects
    warnings: list[str] = []
    report = dict(data.report)
    for item in data.report["excluded"]:
        warnings.append(f"excluded {item['sample_id']}: {item['reason']}")
    dropped = data.meta["coverage"]["dropped"]
    if dropped:
        warnings.append(
            f"dropped {len(dropped)} regions not covered by every run's brain mask: "
            f"{', '.join(dropped[:5])}{' ...' if len(dropped) > 5 else ''}"
        )
    if phenotype is not None:
        subjects, join = join_phenotype(subjects, phenotype, id_column)
        report["phenotype"] = {"matched_on": join.matched_on, "missing": join.missing,
                               "unused": join.unused}
        if join.missing:
            warnings.append(f"{len(join.missing)} samples have no row in {phenotype} (kept "
                            f"with empty phenotype): {', '.join(join.missing[:5])}")
    meta = {**data.meta, "sources": data.sources,
            "phenotype": str(phenotype) if phenotype else None, "command": command}
    ds = build_from_signals(
        out, data.signals, subjects, data.nodes, kind=kind, shrinkage=shrinkage,
        fisher_z=fisher_z, window=window, stride=stride, meta=meta, sources=data.sources,
        device=device, overwrite=overwrite, progress=progress,
    )
    return BuildResult(ds, warnings, report)


def atlases() -> list[dict[str, Any]]:
    """Describe the built-in atlases (what ``neurocl atlases`` shows).

    Returns
    -------
    list of dict
        ``name``, ``kind`` (labels or spheres), ``n_nodes``, ``networks`` (name -> count),
        ``description``.
    """
    from neurocl.io.atlases import list_atlases

    return list_atlases()


# --------------------------------------------------------------------------------------------
# merge-fc
# --------------------------------------------------------------------------------------------


def merge_fc(
    shards: Sequence[str | Path],
    out: str | Path,
    *,
    overwrite: bool = False,
    command: str | None = None,
    progress: ProgressCallback = no_progress,
) -> dict[str, Any]:
    """Merge shard datasets (``build-fc --shard i/n``) into one dataset.

    Parameters
    ----------
    shards : sequence of str or Path
        Shard dataset directories, in sample order.
    out : str or Path
        The merged dataset directory (written atomically, chunk by chunk).
    overwrite : bool
        Replace an existing ``out``.
    command : str, optional
        Command line recorded in ``meta.json``.
    progress : callable
        Progress callback.

    Returns
    -------
    dict
        The merged dataset's summary.
    """
    from neurocl.data.shards import merge_datasets

    return merge_datasets(shards, out, overwrite=overwrite, command=command,
                          progress=progress).summary()


# --------------------------------------------------------------------------------------------
# build-fc: EEG
# --------------------------------------------------------------------------------------------


def build_fc_eeg(
    files: Sequence[str | Path],
    out: str | Path,
    *,
    events: str | dict[str, str] | None = None,
    tmin: float = 0.0,
    tmax: float | None = None,
    baseline: tuple[float | None, float | None] | None = None,
    fixed_length: float | None = None,
    l_freq: float | None = 1.0,
    h_freq: float | None = None,
    notch: float | Sequence[float] | None = None,
    reference: str | None = None,
    resample: float | None = None,
    channels: Sequence[str] | None = None,
    drop_unknown_channels: bool = False,
    method: str = "wpli",
    bands: Any = None,
    band: str | None = None,
    mode: str | None = None,
    n_cycles: float | None = None,
    mt_bandwidth: float = 4.0,
    freq_step: float = 1.0,
    networks: str = "region",
    device: str = "cpu",
    overwrite: bool = False,
    command: str | None = None,
    progress: ProgressCallback = no_progress,
) -> BuildResult:
    """Build an EEG connectivity dataset: one graph per epoch, channels as nodes.

    Each file is read through MNE (EDF/BDF, FIF, BrainVision, EEGLAB) or as an epochs
    ``.npz`` (see :mod:`neurocl.io.eeg`), filtered, epoched from its annotations (``events``)
    or in fixed-length windows, and every epoch's connectivity is computed in every band
    (:mod:`neurocl.connectivity.spectral`).

    Parameters
    ----------
    files : sequence of str or Path
        Recordings; all must have the same channels (after name normalisation).
    out : str or Path
        The dataset directory to write (atomically).
    events : str or dict, optional
        Annotation codes and their labels, ``"T1=left,T2=right"``.
    tmin, tmax : float
        Epoch window in seconds around each event.
    baseline : (float or None, float or None), optional
        Baseline interval subtracted from each epoch.
    fixed_length : float, optional
        Window length in seconds, for recordings without events.
    l_freq, h_freq : float, optional
        Band-pass edges in Hz (default high-pass 1 Hz, no low-pass).
    notch : float or sequence of float, optional
        Line-noise frequencies to notch out.
    reference : {"average"}, optional
        Average re-reference.
    resample : float, optional
        New sampling frequency in Hz.
    channels : sequence of str, optional
        Keep only these channels, in this order.
    drop_unknown_channels : bool
        Drop channels without a standard position instead of failing.
    method : str
        coh, imcoh, plv, pli, wpli, aec, aec-orth or corr.
    bands : str, sequence or mapping, optional
        Default delta, theta, alpha, beta, gamma; custom ranges as ``"mu=8-12"``.
    band : str, optional
        The band stored as ``fc`` (default: the first).
    mode : {"multitaper", "wavelet"}, optional
        Spectral estimator of the phase/coherence methods (default multitaper).
    n_cycles : float, optional
        Fixed number of cycles per wavelet (default ``max(f / 2, 3)``).
    mt_bandwidth : float
        Multitaper time-bandwidth product.
    freq_step : float
        Spacing (Hz) of the frequencies averaged in each band.
    networks : {"region", "region-hemisphere"}
        Node networks: scalp region, or region and hemisphere.
    device : str
        Torch device for the connectivity (cpu, cuda, auto).
    overwrite : bool
        Replace an existing ``out``.
    command : str, optional
        Command line recorded in ``meta.json``.
    progress : callable
        Progress callback.

    Returns
    -------
    BuildResult
        The dataset: ``fc`` (S, N, N), ``fc_bands`` (S, B, N, N), ``timeseries`` (S, T, N).
    """
    import numpy as np

    from neurocl.connectivity.spectral import (
        band_frequencies,
        check_bands,
        normalize_method,
        normalize_mode,
        parse_bands,
        spectral_connectivity,
    )
    from neurocl.data.dataset import write_dataset
    from neurocl.io.eeg import (
        channel_table,
        file_entities,
        montage_name,
        parse_events,
        read_epochs,
    )

    if not files:
        raise ParameterError("no EEG files given; pass one or more recordings")
    method = normalize_method(method)
    mode = normalize_mode(mode, method)
    band_list = parse_bands(bands)
    names = [b.name for b in band_list]
    if band is not None and band not in names:
        raise ParameterError(
            f"--band {band!r} is not among the bands {', '.join(names)}; choose one of them "
            "or add it to --bands"
        )
    recordings = []
    for i, file in enumerate(files):
        rec = read_epochs(
            file, events=events, tmin=tmin, tmax=tmax, baseline=baseline,
            fixed_length=fixed_length, l_freq=l_freq, h_freq=h_freq, notch=notch,
            reference=reference, resample=resample, channels=channels,
            drop_unknown_channels=drop_unknown_channels,
        )
        if recordings:
            first = recordings[0]
            if set(rec.ch_names) != set(first.ch_names):
                only_here = sorted(set(rec.ch_names) - set(first.ch_names))
                only_first = sorted(set(first.ch_names) - set(rec.ch_names))
                raise InputFileError(
                    f"has other channels than {first.source.name} (only here: "
                    f"{', '.join(only_here) or 'none'}; missing: {', '.join(only_first) or 'none'}"
                    "); build one dataset per channel set or pass --channels",
                    rec.source,
                )
            if rec.sfreq != first.sfreq or rec.data.shape[-1] != first.data.shape[-1]:
                raise InputFileError(
                    f"has {rec.data.shape[-1]} samples at {rec.sfreq:g} Hz per epoch where "
                    f"{first.source.name} has {first.data.shape[-1]} at {first.sfreq:g} Hz; "
                    "pass --resample so that all files share one rate",
                    rec.source,
                )
            order = [rec.ch_names.index(c) for c in first.ch_names]
            rec.data, rec.ch_names = rec.data[:, order], list(first.ch_names)
        if len(rec.data) == 0:
            raise InputFileError("yields no epochs with these options", rec.source)
        recordings.append(rec)
        progress("read", i + 1, len(files))
    first = recordings[0]
    sfreq, n_times = first.sfreq, first.data.shape[-1]
    check_bands(band_list, sfreq, n_times, method=method, mode=mode, n_cycles=n_cycles,
                freq_step=freq_step, l_freq=l_freq, h_freq=h_freq)
    data = np.concatenate([r.data for r in recordings])
    flat = np.flatnonzero((np.ptp(data, axis=-1) == 0).any(axis=0))
    if len(flat):
        raise InputFileError(
            f"{'channels' if len(flat) > 1 else 'channel'} "
            f"{', '.join(first.ch_names[i] for i in flat)} "
            f"{'carry' if len(flat) > 1 else 'carries'} no signal in some epochs (connectivity "
            "would be undefined); leave them out with --channels or use --reference average",
            first.source if len(recordings) == 1 else Path(first.source).parent,
        )
    fc_bands = spectral_connectivity(
        data, sfreq, method=method, bands=band_list, mode=mode, n_cycles=n_cycles,
        mt_bandwidth=mt_bandwidth, freq_step=freq_step, device=device, progress=progress,
    )
    rows = []
    for rec in recordings:
        ents = file_entities(rec.source)
        stem = rec.source.name.split(".")[0]
        for k in range(len(rec.data)):
            row: dict[str, Any] = {"sample_id": f"{stem}_epoch-{k:03d}",
                                   "subject_id": ents["subject_id"]}
            if ents["session"] is not None:
                row["session"] = ents["session"]
            if ents["run"] is not None:
                row["run"] = ents["run"]
            if rec.labels is not None:
                row["label"] = rec.labels[k]
            rows.append(row)
    subjects = pd.DataFrame(rows)
    nodes = channel_table(first.ch_names, networks=networks)
    chosen = band or names[0]
    freqs, _ = band_frequencies(band_list, freq_step)
    meta = {
        "modality": "eeg",
        "kind": method,
        "method": method,
        "spectral_mode": mode,
        "sfreq": sfreq,
        "bands": names,
        "band_ranges": {b.name: [b.fmin, b.fmax] for b in band_list},
        "band": chosen,
        "freq_step": freq_step,
        "n_cycles": ("max(f/2, 3)" if n_cycles is None else n_cycles) if mode != "hilbert"
        else None,
        "freqs": [float(f) for f in freqs] if mode != "hilbert" else None,
        "mt_bandwidth": mt_bandwidth if mode == "multitaper" else None,
        "antisymmetric": method == "imcoh",
        "epoching": {
            "events": parse_events(events),
            "tmin": tmin if fixed_length is None else 0.0,
            "tmax": tmax, "baseline": list(baseline) if baseline else None,
            "fixed_length": fixed_length, "n_times": n_times,
        },
        "preprocessing": {"l_freq": l_freq, "h_freq": h_freq, "notch": notch,
                          "reference": reference, "resample": resample,
                          "channels": list(channels) if channels else None},
        "montage": montage_name(),
        "coordinates": "mm, positions of the standard 10-05 montage",
        "networks": networks,
        "dropped_channels": sorted({c for r in recordings for c in r.dropped_channels}),
        "sources": [str(r.source) for r in recordings],
        "command": command,
    }
    timeseries = np.transpose(data, (0, 2, 1)).astype(np.float32)
    ds = write_dataset(out, fc=fc_bands[:, names.index(chosen)], fc_bands=fc_bands,
                       timeseries=timeseries, subjects=subjects, nodes=nodes, meta=meta,
                       overwrite=overwrite)
    warnings = []
    dropped = meta["dropped_channels"]
    if dropped:
        warnings.append(f"dropped {len(dropped)} channels without a known position: "
                        f"{', '.join(dropped)}")
    report = {"n_epochs_per_file": {str(r.source): len(r.data) for r in recordings}}
    if "label" in subjects:
        report["labels"] = {str(k): int(v) for k, v in subjects["label"].value_counts().items()}
    return BuildResult(ds, warnings, report)


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write one self-contained HTML page for a run, dataset, analysis or demo folder.

    Parameters
    ----------
    folder : str or Path
        The folder (searched recursively for datasets, runs, CSV tables and PNG figures).
    out : str or Path, optional
        The HTML file (default ``folder/report.html``).

    Returns
    -------
    Path
        The HTML file.
    """
    from neurocl.evaluate.report import write_report

    return write_report(folder, out)


# --------------------------------------------------------------------------------------------
# simulate: a dataset with a planted effect (neurocl.data.simulate)
# --------------------------------------------------------------------------------------------


def simulate(
    out: str | Path,
    *,
    n_subjects: int = 100,
    planted_network: str = "Default",
    effect: float | None = None,
    n_times: int | None = None,
    atlas: str | Path = "schaefer100",
    seed: int = 0,
    timeseries: bool = True,
    overwrite: bool = False,
) -> FCDataset:
    """Write a simulated dataset whose two classes differ in FC inside one network only.

    Parameters
    ----------
    out : str or Path
        The dataset directory (written atomically).
    n_subjects, planted_network, atlas, seed, timeseries, overwrite
        As for :func:`neurocl.data.simulate.simulate_dataset`.
    effect : float, optional
        Correlation added inside the planted network for class 1; default
        :data:`neurocl.data.simulate.DEFAULT_EFFECT` (raw-FC balanced accuracy about 0.8).
    n_times : int, optional
        Time points per subject; default :data:`neurocl.data.simulate.DEFAULT_TIMES`.

    Returns
    -------
    FCDataset
        The dataset, with the binary ``label`` column and ``meta["simulation"]``.

    Raises
    ------
    ParameterError
        An unknown network (the valid ones are listed), bad sizes or effect; nothing is
        written then.
    """
    from neurocl.data.simulate import DEFAULT_EFFECT, DEFAULT_TIMES, simulate_dataset

    if Path(out).exists() and not overwrite:
        raise ParameterError(
            f"{out} already exists; pass --overwrite to replace it or choose another --out"
        )
    check_output_location(out)
    return simulate_dataset(
        out, n_subjects=n_subjects, planted_network=planted_network,
        effect=DEFAULT_EFFECT if effect is None else effect,
        n_times=DEFAULT_TIMES if n_times is None else n_times, atlas=atlas, seed=seed,
        timeseries=timeseries, overwrite=overwrite,
    )


# --------------------------------------------------------------------------------------------
# info
# --------------------------------------------------------------------------------------------


def info(dataset: str | Path) -> dict[str, Any]:
    """Summarise a dataset (what ``neurocl info`` shows).

    Parameters
    ----------
    dataset : str or Path
        The dataset directory.

    Returns
    -------
    dict
        Samples, subjects, nodes, kind, networks and their sizes, label columns, whether time
        series / dynamic FC / bands are present, provenance.
    """
    return load_dataset(dataset).summary()



# --------------------------------------------------------------------------------------------
# pretrain / embed: self-supervised encoders
# --------------------------------------------------------------------------------------------


def pretrain(
    dataset: str | Path | FCDataset,
    out: str | Path,
    *,
    encoder: str | None = None,
    objective: str | None = None,
    augment: str | Sequence[Any] | None = None,
    n_views: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    hidden: int | None = None,
    layers: int | None = None,
    sparsify: str | None = None,
    node_features: str | None = None,
    readout: str | None = None,
    temperature: float | None = None,
    hard_negatives: int | None = None,
    device: str | None = None,
    seed: int | None = None,
    config: str | Path | dict[str, Any] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: ProgressCallback = no_progress,
    **options: Any,
) -> Any:
    """Pretrain a graph encoder with self-supervision and write a run folder.

    Options left as None take the value of ``config`` (a replayed ``config.json``), else the
    default of :class:`neurocl.train.PretrainConfig` (GIN, NT-Xent, ``fc-crop`` views,
    100 epochs, batch 64, lr 1e-3, hidden 64, 3 layers, ``topk:0.2``, ``fc-row`` features).

    Parameters
    ----------
    dataset : str, Path or FCDataset
        The training dataset.
    out : str or Path
        Run folder: ``config.json``, ``checkpoint.pt``, ``history.csv``, ``loss_curve.png``.
    encoder, objective : str, optional
        Registered names (``neurocl list encoders`` / ``objectives``).
    augment : str or list, optional
        Views, comma-separated (``"fc-crop,edge-drop:p=0.3"``).
    n_views, epochs, batch_size, hidden, layers : int, optional
        Views per subject, training length, samples per step, encoder width and depth.
    lr : float, optional
        Peak AdamW learning rate (linear warm-up, cosine decay).
    sparsify, node_features, readout : str, optional
        Encoder input and readout options.
    temperature : float, optional
        Contrastive temperature.
    hard_negatives : int, optional
        Mixed hard negatives per anchor (InfoNCE family).
    device : str, optional
        ``auto`` (cuda, mps, cpu), ``cpu``, ``cuda`` or ``mps``.
    seed : int, optional
        Seed of weights, shuffling and views (CPU runs repeat exactly).
    config : str, Path or dict, optional
        A resolved config to replay; explicit options override it.
    resume : bool
        Continue the run in ``out`` from its last checkpoint.
    overwrite : bool
        Replace an existing run folder.
    progress : callable
        Progress callback (``"epoch"``, done, total, loss=..., graphs_per_s=...).
    **options
        Other fields of :class:`neurocl.train.PretrainConfig` (``weight_decay``,
        ``warmup_epochs``, ``grad_clip``, ``out_dim``, ``proj_dim``, ``norm``, ``heads``,
        ``amp``, ``input`` (``fc``, ``dynamic``, ``timeseries``), ``mask_ratio``, ``mask``).

    Returns
    -------
    neurocl.train.Run
        The run (``.config``, ``.history``, ``.embed(dataset)``, ``.warnings``).
    """
    from neurocl.train.run import pretrain as _pretrain

    given = dict(
        encoder=encoder, objective=objective, augment=augment, n_views=n_views, epochs=epochs,
        batch_size=batch_size, lr=lr, hidden=hidden, layers=layers, sparsify=sparsify,
        node_features=node_features, readout=readout, temperature=temperature,
        hard_negatives=hard_negatives, device=device, seed=seed, **options,
    )
    return _pretrain(dataset, out, config=config, resume=resume, overwrite=overwrite,
                     progress=progress, **given)


@dataclass
class EmbedResult:
    """What ``embed`` computed and wrote.

    Attributes
    ----------
    table : DataFrame
        One row per sample: the subjects table (``sample_id``, ``subject_id``, labels) and
        ``emb_0`` ... ``emb_{d-1}``.
    embeddings : ndarray of shape (n_samples, embedding_dim)
        The embeddings.
    files : list of Path
        Files written (empty when ``out`` is None).
    """

    table: pd.DataFrame
    embeddings: Any
    files: list[Path] = field(default_factory=list)


def embed(
    run: str | Path,
    dataset: str | Path | FCDataset,
    *,
    out: str | Path | None = None,
    untrained: bool = False,
    device: str = "cpu",
    batch_size: int = 128,
    overwrite: bool = False,
) -> EmbedResult:
    """Embed every sample of ``dataset`` with the frozen encoder of ``run``.

    Parameters
    ----------
    run : str or Path
        A run folder written by :func:`pretrain`.
    dataset : str, Path or FCDataset
        A dataset with the run's atlas, node order and FC kind.
    out : str or Path, optional
        ``.csv``: ids, label columns and ``emb_*`` columns; ``.npy``: the array, with the ids
        and labels in a CSV of the same name. Written atomically.
    untrained : bool
        Use the initial weights (same architecture and seed): the untrained baseline.
    device : str
        Torch device (``auto`` allowed).
    batch_size : int
        Samples per forward pass.
    overwrite : bool
        Replace existing output files.

    Returns
    -------
    EmbedResult

    Raises
    ------
    CheckpointError
        When the run is damaged or the dataset does not match it.
    """
    import os
    import uuid

    import numpy as np

    from neurocl.train.run import load_run

    ds = dataset if isinstance(dataset, FCDataset) else load_dataset(dataset)
    targets: list[Path] = []
    if out is not None:
        out = Path(out)
        suffix = out.suffix.lower()
        if suffix not in (".csv", ".npy"):
            raise ParameterError(f"--out must end in .csv or .npy; got {out.name!r}")
        targets = [out] if suffix == ".csv" else [out, out.with_suffix(".csv")]
        existing = [str(p) for p in targets if p.exists()]
        if existing and not overwrite:
            raise ParameterError(
                f"{', '.join(existing)} already exists; pass --overwrite or choose another --out"
            )
        for target in targets:
            check_output_location(target)
    emb = load_run(run).embed(ds, untrained=untrained, device=device, batch_size=batch_size)
    ids = ds.subjects.reset_index(drop=True)
    columns = pd.DataFrame(emb, columns=[f"emb_{i}" for i in range(emb.shape[1])])
    table = pd.concat([ids, columns], axis=1)
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}{target.suffix}")
        try:
            if target.suffix.lower() == ".npy":
                np.save(tmp, emb, allow_pickle=False)
            else:
                (table if len(targets) == 1 else ids).to_csv(tmp, index=False)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return EmbedResult(table, emb, targets)


# --------------------------------------------------------------------------------------------
# probe: leakage-safe probes of frozen representations against baselines on the same folds
# --------------------------------------------------------------------------------------------


def probe(
    source: Any = None,
    dataset: str | Path | FCDataset | None = None,
    *,
    label: str,
    baselines_only: bool = False,
    test_dataset: str | Path | FCDataset | None = None,
    test_embeddings: str | Path | None = None,
    untrained: bool = True,
    task: str = "auto",
    cv: int = 5,
    repeats: int = 5,
    group: str = "subject_id",
    site: str | None = None,
    baselines: Sequence[str] = ("raw-fc", "tangent", "chance"),
    probes: Sequence[str] = ("linear", "knn"),
    permutations: int = 0,
    deconfound: Sequence[str] = (),
    seed: int = 0,
    band: str | None = None,
    tangent_covariance: str = "ledoit-wolf",
    n_bootstrap: int = 1000,
    device: str = "cpu",
    n_jobs: int = 1,
    out: str | Path | None = None,
    predictions: str | Path | None = None,
    overwrite: bool = False,
    progress: ProgressCallback = no_progress,
) -> Any:
    """Probe an encoder's frozen embeddings against raw-FC, tangent, untrained and chance rows.

    Every row of the table is scored on the same grouped, stratified, repeated folds; the
    tangent reference, deconfounding, scalers and hyperparameters are fitted on training
    folds only (see :func:`neurocl.evaluate.probe`).

    Parameters
    ----------
    source : str, Path, Run, ndarray or None
        A run folder (embedded with ``load_run(source).embed``, plus the untrained encoder),
        an embeddings table (``sample_id`` and ``emb_*`` columns, as ``neurocl embed``
        writes), an array (n_samples, n_dims) in dataset row order, or None for baselines
        only.
    dataset : str, Path or FCDataset
        The dataset holding the label.
    label : str
        Label column of the dataset's subjects table.
    baselines_only : bool
        Ignore ``source`` and probe the baselines only.
    test_dataset : str, Path or FCDataset, optional
        External validation: fit on ``dataset``, score on this one (same atlas and kind).
    test_embeddings : str or Path, optional
        Embeddings table of ``test_dataset`` when ``source`` is an embeddings table.
    untrained : bool
        With a run folder, add the untrained encoder row.
    task, cv, repeats, group, site, baselines, probes, permutations, deconfound, seed, band,
    tangent_covariance, n_bootstrap, n_jobs
        As for :func:`neurocl.evaluate.probe`.
    device : str
        Torch device for embedding with a run folder.
    out : str or Path, optional
        CSV of the summary table (one row per representation and probe).
    predictions : str or Path, optional
        CSV of the per-fold test predictions.
    overwrite : bool
        Replace existing output files.
    progress : callable
        Progress callback (stage ``"probe"``).

    Returns
    -------
    neurocl.evaluate.ProbeResult
        ``summary``, ``fold_scores``, ``predictions``, ``comparison``, ``info``.

    Raises
    ------
    ParameterError, InputFileError, DatasetError, CheckpointError
        Bad options, unreadable or mismatched embeddings, a dataset of another atlas.
    """
    import numpy as np

    from neurocl.evaluate import probe as _probe
    from neurocl.evaluate.embeddings import is_embeddings_file, load_embeddings, load_encoder

    if dataset is None:
        raise ParameterError("probe needs a dataset")
    targets = [Path(p) for p in (out, predictions) if p is not None]
    for target in targets:
        if target.suffix.lower() != ".csv":
            raise ParameterError(f"probe output files must end in .csv; got {target.name!r}")
    existing = [str(p) for p in targets if p.exists()]
    if existing and not overwrite:
        raise ParameterError(
            f"{', '.join(existing)} already exists; pass --overwrite or choose another file"
        )
    for target, option in ((out, "--out"), (predictions, "--predictions")):
        if target is not None:
            check_output_location(target, option)
    ds = dataset if isinstance(dataset, FCDataset) else load_dataset(dataset)
    test_ds = None
    if test_dataset is not None:
        test_ds = test_dataset if isinstance(test_dataset, FCDataset) else load_dataset(
            test_dataset)
    emb = emb_untrained = emb_test = emb_test_untrained = None
    if source is not None and not baselines_only:
        if isinstance(source, np.ndarray):
            emb = source
        elif isinstance(source, (str, Path)) and is_embeddings_file(source):
            ids = ds.subjects["sample_id"]
            emb = load_embeddings(source, ids)
            if test_ds is not None:
                if test_embeddings is None:
                    raise ParameterError(
                        "--test with an embeddings file needs the test dataset's embeddings "
                        "too: pass --test-embeddings FILE, or give the run folder instead"
                    )
                emb_test = load_embeddings(test_embeddings, test_ds.subjects["sample_id"])
        else:
            run = load_encoder(source) if isinstance(source, (str, Path)) else source
            run.check_compatible(ds)
            if test_ds is not None:
                run.check_compatible(test_ds)
            emb = run.embed(ds, device=device)
            if untrained:
                emb_untrained = run.embed(ds, untrained=True, device=device)
            if test_ds is not None:
                emb_test = run.embed(test_ds, device=device)
                if untrained:
                    emb_test_untrained = run.embed(test_ds, untrained=True, device=device)
    result = _probe(
        ds, label=label, embeddings=emb, untrained=emb_untrained, test_dataset=test_ds,
        test_embeddings=emb_test, test_untrained=emb_test_untrained, task=task, cv=cv,
        repeats=repeats, group=group, site=site, baselines=baselines, probes=probes,
        permutations=permutations, deconfound=deconfound, seed=seed, band=band,
        tangent_covariance=tangent_covariance, n_bootstrap=n_bootstrap, n_jobs=n_jobs,
        progress=progress,
    )
    result.info["source"] = None if emb is None else (
        str(source) if isinstance(source, (str, Path)) else type(source).__name__)
    for target, frame in ((out, result.summary), (predictions, result.predictions)):
        if target is not None:
            _write_csv_atomic(frame, Path(target))
    return result


def _write_csv_atomic(frame: pd.DataFrame, target: Path) -> None:
    import os
    import uuid

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        frame.to_csv(tmp, index=False)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# ablate / importance: which network carries the signal, and where (neurocl.evaluate)
# --------------------------------------------------------------------------------------------


def _open_encoder(run: Any, baselines_only: bool) -> Any:
    """Open a run folder with ``load_run``; an object with ``embed`` passes through."""
    if run is None or baselines_only:
        return None
    if isinstance(run, (str, Path)):
        from neurocl.train.run import load_run

        return load_run(run)
    return run


def _check_out_dir(out: str | Path | None, overwrite: bool) -> Path | None:
    if out is None:
        return None
    out = Path(out)
    if out.exists() and not overwrite:
        raise ParameterError(
            f"{out} already exists; pass --overwrite to replace it or choose another --out"
        )
    return check_output_location(out)


def ablate(
    run: Any = None,
    dataset: str | Path | FCDataset | None = None,
    *,
    label: str,
    modes: Sequence[str] = ("drop", "keep-only"),
    strategy: str = "mask-input",
    n_null: int | None = None,
    cv: int = 5,
    repeats: int = 3,
    group: str = "subject_id",
    networks: str | Path | None = None,
    unassigned: str = "group",
    only: Sequence[str] | None = None,
    baselines_only: bool = False,
    band: str | None = None,
    task: str = "auto",
    probe: str = "linear",
    seed: int = 0,
    device: str = "cpu",
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: ProgressCallback = no_progress,
) -> Any:
    """Ablate each functional network (frozen encoder and raw-FC baseline), same folds.

    See :func:`neurocl.evaluate.ablation.ablate` for the method and the p-value
    ``(1 + #{null >= observed}) / (1 + R)`` against ``n_null`` size-matched random node sets.

    Parameters
    ----------
    run : str, Path or object with ``embed(dataset, fc=...)``, optional
        A run folder from :func:`pretrain` (or a Run); None ablates the raw-FC baseline
        only. First, as on the command line (``neurocl ablate [RUN] DATASET``).
    dataset : str, Path or FCDataset
        The dataset holding the label.
    label : str
        Label column.
    modes, strategy, n_null, cv, repeats, group, networks, unassigned, only, baselines_only,
    band, task, probe, seed, device
        As for :func:`neurocl.evaluate.ablation.ablate`.
    out : str or Path, optional
        Folder written atomically: ``ablation.csv``, ``ablation.json``,
        ``ablation_folds.csv``, ``ablation_null.csv``, ``ablation.png``.
    overwrite : bool
        Replace an existing ``out``.
    progress : callable
        Progress callback (stage ``"ablate"``).

    Returns
    -------
    neurocl.evaluate.ablation.AblationResult

    Raises
    ------
    ParameterError, InputFileError, DatasetError, CheckpointError
        Bad options, a network table that misses nodes, a run of another atlas; nothing is
        written then.
    """
    from neurocl.data.dataset import atomic_directory
    from neurocl.evaluate.ablation import ablate as _ablate

    if dataset is None:
        raise ParameterError("ablate needs a dataset")
    target = _check_out_dir(out, overwrite)
    ds = dataset if isinstance(dataset, FCDataset) else load_dataset(dataset)
    encoder = _open_encoder(run, baselines_only)
    result = _ablate(ds, label=label, encoder=encoder, modes=modes, strategy=strategy,
                     n_null=n_null, cv=cv, repeats=repeats, group=group, networks=networks,
                     unassigned=unassigned, only=only, baselines_only=baselines_only,
                     band=band, task=task, probe=probe, seed=seed, device=device,
                     progress=progress)
    if target is not None:
        with atomic_directory(target, overwrite=overwrite) as tmp:
            names = [p.name for p in result.write(tmp)]
        result.files = [target / n for n in names]
    return result


def importance(
    run: Any = None,
    dataset: str | Path | FCDataset | None = None,
    *,
    label: str,
    methods: Sequence[str] = ("occlusion", "haufe", "ig"),
    cv: int = 5,
    repeats: int = 1,
    group: str = "subject_id",
    networks: str | Path | None = None,
    band: str | None = None,
    task: str = "auto",
    seed: int = 0,
    ig_steps: int = 32,
    atlas: str | Path | None = None,
    top_edges: int = 20,
    device: str = "cpu",
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: ProgressCallback = no_progress,
) -> Any:
    """Per-node importance maps (occlusion, integrated gradients, Haufe patterns).

    Parameters
    ----------
    run : str, Path or object with ``embed(dataset, fc=...)``, optional
        A run folder; None explains the raw-FC baseline only (occlusion, Haufe).
    dataset : str, Path or FCDataset
        The dataset holding the label.
    label : str
        Label column.
    methods, cv, repeats, group, networks, band, task, seed, ig_steps, device
        As for :func:`neurocl.evaluate.importance.importance`.
    atlas : str or Path, optional
        A labels atlas (built-in name such as ``schaefer100``, or a labels NIfTI) with one
        region per node, to paint the NIfTI maps on; default: the dataset's ``meta["atlas"]``
        when it names a labels atlas with as many regions as nodes (otherwise no NIfTI, with
        a note).
    top_edges : int
        Edges drawn in the connectome pictures.
    out : str or Path, optional
        Folder written atomically: ``importance_nodes.csv`` (name, network, x, y, z, one
        column per method), ``importance_networks.csv``, ``importance.json``, edge maps
        (``.npy``), NIfTI maps and PNG pictures.
    overwrite : bool
        Replace an existing ``out``.
    progress : callable
        Progress callback.

    Returns
    -------
    neurocl.evaluate.importance.ImportanceResult

    Raises
    ------
    ParameterError, InputFileError, DatasetError, CheckpointError
        Bad options, an atlas that does not match the nodes, a run of another atlas.
    """
    from neurocl.data.dataset import atomic_directory
    from neurocl.evaluate.importance import importance as _importance

    if dataset is None:
        raise ParameterError("importance needs a dataset")
    target = _check_out_dir(out, overwrite)
    ds = dataset if isinstance(dataset, FCDataset) else load_dataset(dataset)
    labels_atlas, note = _labels_atlas(ds, atlas)
    encoder = _open_encoder(run, False)
    result = _importance(ds, label=label, encoder=encoder, methods=methods, cv=cv,
                         repeats=repeats, group=group, networks=networks, band=band,
                         task=task, seed=seed, ig_steps=ig_steps, device=device,
                         progress=progress)
    if note:
        result.info["notes"].append(note)
    if target is not None:
        with atomic_directory(target, overwrite=overwrite) as tmp:
            names = [p.name for p in result.write(
                tmp, labels_atlas=labels_atlas, modality=ds.meta.get("modality"),
                top_edges=top_edges)]
        result.files = [target / n for n in names]
    return result


def _labels_atlas(ds: FCDataset, atlas: str | Path | None) -> tuple[Any, str]:
    """Return the labels atlas to paint maps on, or None and the reason."""
    from neurocl._core.errors import NeuroclError
    from neurocl.io.atlases import load_atlas

    name = atlas if atlas is not None else ds.meta.get("atlas")
    if name is None:
        return None, "no NIfTI map: the dataset names no atlas (pass --atlas)"
    try:
        found = load_atlas(name)
    except NeuroclError as exc:
        if atlas is not None:
            raise
        return None, f"no NIfTI map: the dataset's atlas {name!r} is not a labels image ({exc})"
    problem = None
    if found.kind != "labels":
        problem = f"atlas {name!r} is a {found.kind} atlas, not a labels image"
    elif found.n_nodes != ds.n_nodes:
        problem = (f"atlas {name!r} has {found.n_nodes} regions but the dataset has "
                   f"{ds.n_nodes} nodes")
    if problem is not None:
        if atlas is not None:
            raise ParameterError(f"{problem}; give the labels atlas the dataset was built with")
        return None, f"no NIfTI map: {problem}"
    return found, ""


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------


@dataclass
class DemoResult:
    """What ``neurocl demo`` did.

    Attributes
    ----------
    out : Path
        The output folder.
    steps : dict
        One JSON-ready summary per pipeline step (``build-fc``, ...).
    files : list of Path
        Every file written, relative to ``out``.
    results : dict
        The probe, ablation and importance result objects.
    """

    out: Path
    steps: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)


def sample_data_path() -> Path:
    """Return the folder of the bundled sample data."""
    from neurocl.sample_data import path

    return path()


#: settings of ``neurocl demo`` (full) and ``neurocl demo --quick``
DEMO_SETTINGS: dict[str, dict[str, Any]] = {
    "full": {"epochs": 30, "cv": 5, "repeats": 3, "null": 50, "window": 30, "stride": 10},
    "quick": {"epochs": 2, "cv": 3, "repeats": 1, "null": 5, "window": 30, "stride": 20},
}


def demo(
    out: str | Path = "neurocl-demo",
    *,
    quick: bool = False,
    overwrite: bool = False,
    device: str = "cpu",
    progress: ProgressCallback = no_progress,
) -> DemoResult:
    """Run the whole pipeline on the bundled sample data.

    Builds an FC dataset (static and dynamic FC) from the 40-subject development sample,
    pretrains a contrastive encoder (GIN, NT-Xent on ``fc-crop`` views) and a generative one
    (GIN, masked-graph autoencoding), probes both against raw-FC, tangent, untrained and
    chance rows for child vs adult, ablates each functional network (encoder and raw FC,
    against size-matched random node sets), maps node importance, and writes an HTML report.

    Parameters
    ----------
    out : str or Path
        Output folder (created).
    quick : bool
        Smallest settings (what the tests run); see :data:`DEMO_SETTINGS`.
    overwrite : bool
        Replace outputs of an earlier demo in ``out``.
    device : str
        Torch device for pretraining.
    progress : callable
        Progress callback.

    Returns
    -------
    DemoResult
        ``steps`` holds each step's JSON-ready summary; ``results`` the probe, ablation and
        importance result objects.
    """
    out = check_output_location(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = DEMO_SETTINGS["quick" if quick else "full"]
    data = sample_data_path()
    result = DemoResult(out)
    result.steps["settings"] = dict(settings, mode="quick" if quick else "full")
    built = build_fc_fmri(
        [data / "development_aal116.npz"],
        out / "development.ds",
        networks=data / "aal116_networks.tsv",
        name_column="roi_name",
        network_column="yeo7_network",
        atlas_name="aal116",
        phenotype=data / "development_participants.tsv",
        id_column="participant_id",
        kind="correlation",
        window=settings["window"],
        stride=settings["stride"],
        overwrite=overwrite,
        command="neurocl demo",
        progress=progress,
    )
    result.steps["build-fc"] = built.summary()
    ds = built.dataset
    runs = {
        "contrastive": dict(encoder="gin", objective="ntxent", augment="fc-crop"),
        "generative": dict(encoder="gin", objective="masked-graph", augment=None),
    }
    for name, opts in runs.items():
        pretrain(ds, out / "runs" / name, epochs=settings["epochs"], batch_size=20, seed=0,
                 device=device, overwrite=True, progress=progress, **opts)
        result.steps[f"pretrain-{name}"] = {"run": str(out / "runs" / name), **opts,
                                            "epochs": settings["epochs"]}
    label = "child_adult"
    for name in runs:
        res = probe(out / "runs" / name, ds, label=label, cv=settings["cv"],
                    repeats=settings["repeats"], probes=("linear",), seed=0,
                    out=out / f"probe_{name}.csv", predictions=out / f"predictions_{name}.csv",
                    overwrite=True, progress=progress)
        result.results[f"probe-{name}"] = res
        result.steps[f"probe-{name}"] = res.to_dict()
    abl = ablate(out / "runs" / "contrastive", ds, label=label, n_null=settings["null"],
                 cv=settings["cv"], repeats=settings["repeats"], seed=0,
                 out=out / "ablation", overwrite=True, progress=progress)
    result.results["ablation"] = abl
    result.steps["ablate"] = {"table": abl.table.to_dict("records"), "info": abl.info}
    imp = importance(out / "runs" / "contrastive", ds, label=label, cv=settings["cv"],
                     seed=0, out=out / "importance", overwrite=True, progress=progress)
    result.steps["importance"] = {"networks": imp.networks.to_dict("records")}
    result.results["importance"] = imp
    result.steps["report"] = str(report(out, out / "report.html"))
    result.files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return result
