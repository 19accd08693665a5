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
from neurocl.data.dataset import FCDataset, load_dataset

__all__ = [
    "BuildResult",
    "DemoResult",
    "atlases",
    "build_fc_fmri",
    "build_fc_images",
    "demo",
    "info",
    "merge_fc",
    "report",
    "load_dataset",
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
    **image_options
        For image inputs only: ``atlas``, ``space``, ``task``, ``session``, ``confounds``,
        ``fd_threshold``, ``max_scrubbed``, ``uncovered``, ``min_coverage``, ``n_jobs`` (see
        :func:`build_fc_images`).

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
        table = read_table(phenotype)
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
        overwrite=overwrite, progress=progress,
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
    """

    out: Path
    steps: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def sample_data_path() -> Path:
    """Return the folder of the bundled sample data."""
    from neurocl.sample_data import path

    return path()


def demo(
    out: str | Path = "neurocl-demo",
    *,
    quick: bool = False,
    overwrite: bool = False,
    progress: ProgressCallback = no_progress,
) -> DemoResult:
    """Run the pipeline on the bundled sample data.

    Parameters
    ----------
    out : str or Path
        Output folder (created).
    quick : bool
        Smallest settings (what the tests run).
    overwrite : bool
        Replace outputs of an earlier demo in ``out``.
    progress : callable
        Progress callback.

    Returns
    -------
    DemoResult
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = sample_data_path()
    result = DemoResult(out)
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
        window=None if quick else 30,
        stride=10,
        overwrite=overwrite,
        command="neurocl demo",
        progress=progress,
    )
    result.steps["build-fc"] = built.summary()
    result.files = sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()
    )
    return result
