"""``neurocl build-fc``: functional-connectivity datasets from fMRI and EEG."""

from __future__ import annotations

from pathlib import Path

import typer

from neurocl.cli._output import command_line, print_json, progress_bar, stderr

build_app = typer.Typer(
    help="Build a functional-connectivity dataset (a directory of plain files).",
    no_args_is_help=True,
)


def _render(result, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    for text in result.warnings:
        stderr.print(f"[yellow]warning:[/yellow] {text}", soft_wrap=True, markup=False)
    if as_json:
        print_json(result.summary())
    else:
        from neurocl.cli.info import render_summary

        render_summary(result.dataset.summary())


@build_app.command("fmri")
def fmri(
    inputs: list[Path] = typer.Argument(
        ..., help="ROI time series (.npz stack, or one .tsv/.csv/.1D/.npy per sample), "
        "connectivity matrices (.npy/.npz stack, or one .csv/.txt per sample), 4D NIfTI "
        "images (one per sample), or one fMRIPrep derivatives folder."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Dataset directory to write."),
    input_type: str = typer.Option(
        "auto", "--input-type", help="auto | timeseries | matrices (needed for ambiguous files)."
    ),
    kind: str = typer.Option(
        "correlation", "--kind",
        help="correlation | partial-correlation | covariance | precision | tangent.",
    ),
    shrinkage: str = typer.Option(
        "empirical", "--shrinkage", help="Covariance estimator: empirical | ledoit-wolf."
    ),
    fisher_z: bool = typer.Option(
        False, "--fisher-z", help="Fisher z-transform (correlation kinds; diagonal zeroed)."
    ),
    window: int = typer.Option(
        None, "--window", help="Dynamic FC: sliding-window length in frames."
    ),
    stride: int = typer.Option(1, "--stride", help="Dynamic FC: window step in frames."),
    networks: Path = typer.Option(
        None, "--networks", help="Node table (TSV/CSV): name, network, optional x/y/z."
    ),
    name_column: str = typer.Option(None, "--name-column", help="Node-name column of --networks."),
    network_column: str = typer.Option(
        None, "--network-column", help="Network column of --networks."
    ),
    atlas_name: str = typer.Option(None, "--atlas-name", help="Atlas name recorded in meta."),
    phenotype: Path = typer.Option(None, "--phenotype", help="Phenotype table (TSV/CSV)."),
    id_column: str = typer.Option(
        "participant_id", "--id-column", help="Id column of --phenotype."
    ),
    standardize: bool = typer.Option(False, "--standardize", help="z-score each signal."),
    detrend: bool = typer.Option(False, "--detrend", help="Remove linear trends."),
    high_pass: float = typer.Option(None, "--high-pass", help="High-pass cutoff in Hz."),
    low_pass: float = typer.Option(None, "--low-pass", help="Low-pass cutoff in Hz."),
    t_r: float = typer.Option(None, "--t-r", help="Repetition time in seconds."),
    device: str = typer.Option("cpu", "--device", help="Torch device for FC: cpu | cuda."),
    scheduler: str = typer.Option(
        None, "--scheduler", help="Address of a running Dask scheduler (tcp://host:8786): "
        "extraction and FC chunks run on that cluster."
    ),
    shard: str = typer.Option(
        None, "--shard", help="Build only shard i of n (e.g. 3/64, 1-based) for a cluster "
        "array job; join the shards with `neurocl merge-fc`."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    atlas: str = typer.Option(
        None, "--atlas", help="Images: built-in atlas (see `neurocl atlases`), labels/maps "
        "NIfTI, or coordinate table (x, y, z in mm)."
    ),
    space: str = typer.Option(None, "--space", help="Images: keep runs in this space."),
    task: str = typer.Option(None, "--task", help="Images: keep runs of this task."),
    session: str = typer.Option(None, "--session", help="Images: keep runs of this session."),
    confounds: list[str] = typer.Option(
        None, "--confounds", help="Images: none | simple | compcor | ica_aroma (nilearn's "
        "fMRIPrep strategies), or a confounds TSV per image (repeat, in input order)."
    ),
    fd_threshold: float = typer.Option(
        None, "--fd-threshold", help="Images: scrub frames with framewise displacement above "
        "this (mm)."
    ),
    max_scrubbed: float = typer.Option(
        None, "--max-scrubbed", help="Images: exclude a run when more than this fraction of "
        "its frames is scrubbed [default: 0.5]."
    ),
    min_coverage: float = typer.Option(
        None, "--min-coverage", help="Images: fraction of a region's voxels that must lie in "
        "every run's brain mask [default: 0.5]."
    ),
    drop_uncovered: bool = typer.Option(
        None, "--drop-uncovered/--stop-uncovered", help="Images: drop regions under "
        "--min-coverage from every sample, or stop with an error [default: drop]."
    ),
    n_jobs: int = typer.Option(
        None, "--n-jobs", help="Images: runs extracted in parallel; ROI inputs: FC chunks in "
        "parallel (-1: all cores) [default: 1]."
    ),
) -> None:
    """Build an fMRI FC dataset from ROI time series, matrices, 4D images or fMRIPrep."""
    from neurocl import api

    with progress_bar() as progress:
        result = api.build_fc_fmri(
            inputs, out, input_type=input_type, kind=kind, shrinkage=shrinkage,
            fisher_z=fisher_z, window=window, stride=stride, networks=networks,
            name_column=name_column, network_column=network_column, atlas_name=atlas_name,
            phenotype=phenotype, id_column=id_column, standardize=standardize, detrend=detrend,
            high_pass=high_pass, low_pass=low_pass, t_r=t_r, device=device, overwrite=overwrite,
            shard=shard, scheduler=scheduler, command=command_line(), progress=progress,
            **_image_options(
                atlas=atlas, space=space, task=task, session=session,
                confounds=_confounds_value(confounds),
                fd_threshold=fd_threshold, max_scrubbed=max_scrubbed, min_coverage=min_coverage,
                uncovered=None if drop_uncovered is None else
                ("drop" if drop_uncovered else "stop"), n_jobs=n_jobs,
            ),
        )
    _render(result, as_json)


def _confounds_value(values: list[str] | None) -> str | list[str] | None:
    """One --confounds value as a string, several as a list, none as None."""
    if not values:
        return None
    return values[0] if len(values) == 1 else list(values)


def _image_options(**options: object) -> dict[str, object]:
    """Keep the image options the user gave (the API's defaults apply to the others)."""
    return {k: v for k, v in options.items() if v is not None}


@build_app.command("eeg")
def eeg(
    files: list[Path] = typer.Argument(
        ..., help="EEG recordings: .edf/.bdf, .fif (raw or -epo.fif), .vhdr, .set, or an "
        "epochs .npz (data [epochs, channels, samples], sfreq, ch_names, optional labels)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Dataset directory to write."),
    events: str = typer.Option(
        None, "--events", help="Annotation codes to epoch and their labels, e.g. "
        "T1=left,T2=right (a code alone keeps its name)."
    ),
    tmin: float = typer.Option(0.0, "--tmin", help="Epoch start relative to each event (s)."),
    tmax: float = typer.Option(None, "--tmax", help="Epoch end relative to each event (s)."),
    baseline: str = typer.Option(
        None, "--baseline", help="Baseline interval START,END in seconds subtracted from each "
        "epoch ('none' for an epoch edge), e.g. none,0."
    ),
    fixed_length: float = typer.Option(
        None, "--fixed-length", help="Cut continuous recordings into windows of this many "
        "seconds (resting state) instead of --events."
    ),
    l_freq: float = typer.Option(
        1.0, "--l-freq", help="High-pass edge in Hz (0 or negative: none)."
    ),
    h_freq: float = typer.Option(None, "--h-freq", help="Low-pass edge in Hz [default: none]."),
    notch: str = typer.Option(
        None, "--notch", help="Line-noise frequencies to notch out, e.g. 50 or 60,120."
    ),
    reference: str = typer.Option(None, "--reference", help="Re-reference: average."),
    resample: float = typer.Option(None, "--resample", help="New sampling rate in Hz."),
    channels: str = typer.Option(
        None, "--channels", help="Keep only these channels, e.g. C3,Cz,C4 (in this order)."
    ),
    drop_unknown_channels: bool = typer.Option(
        False, "--drop-unknown-channels", help="Drop channels without a standard 10-05 "
        "position instead of stopping."
    ),
    method: str = typer.Option(
        "wpli", "--method", help="coh | imcoh | plv | pli | wpli | aec | aec-orth | corr."
    ),
    bands: str = typer.Option(
        None, "--bands", help="Bands, e.g. alpha,beta or mu=8-12,beta [default: delta 2-4, "
        "theta 4-8, alpha 8-13, beta 13-30, gamma 30-45 Hz]."
    ),
    band: str = typer.Option(None, "--band", help="Band stored as fc [default: the first]."),
    mode: str = typer.Option(
        None, "--mode", help="Spectral estimator of coh/imcoh/plv/pli/wpli: multitaper | "
        "wavelet [default: multitaper]; aec/aec-orth/corr use band-pass + Hilbert."
    ),
    n_cycles: float = typer.Option(
        None, "--cycles", help="Fixed cycles per wavelet [default: max(f/2, 3)]."
    ),
    mt_bandwidth: float = typer.Option(
        4.0, "--mt-bandwidth", help="Multitaper time-bandwidth product (4: three tapers)."
    ),
    freq_step: float = typer.Option(
        1.0, "--freq-step", help="Spacing in Hz of the frequencies averaged in a band."
    ),
    networks: str = typer.Option(
        "region", "--networks", help="Node networks: region (Frontal, Central, ...) or "
        "region-hemisphere (Central-Left, ...)."
    ),
    device: str = typer.Option("cpu", "--device", help="Torch device: cpu | cuda | auto."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Build an EEG connectivity dataset: one graph per epoch and band, channels as nodes."""
    from neurocl import api

    with progress_bar() as progress:
        result = api.build_fc_eeg(
            files, out, events=events, tmin=tmin, tmax=tmax,
            baseline=_baseline_value(baseline), fixed_length=fixed_length,
            l_freq=l_freq if l_freq and l_freq > 0 else None, h_freq=h_freq,
            notch=_float_list(notch, "--notch"), reference=reference, resample=resample,
            channels=[c.strip() for c in channels.split(",") if c.strip()] if channels else None,
            drop_unknown_channels=drop_unknown_channels, method=method, bands=bands, band=band,
            mode=mode, n_cycles=n_cycles, mt_bandwidth=mt_bandwidth, freq_step=freq_step,
            networks=networks, device=device, overwrite=overwrite, command=command_line(),
            progress=progress,
        )
    _render(result, as_json)


def _float_list(text: str | None, option: str) -> list[float] | None:
    """``"50,100"`` -> [50.0, 100.0]."""
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        from neurocl._core.errors import ParameterError

        raise ParameterError(f"{option} takes numbers separated by commas; got {text!r}") from None


def _baseline_value(text: str | None) -> tuple[float | None, float | None] | None:
    """``"none,0"`` -> (None, 0.0)."""
    if text is None:
        return None
    parts = [p.strip().lower() for p in text.split(",")]
    if len(parts) != 2:
        from neurocl._core.errors import ParameterError

        raise ParameterError(f"--baseline takes START,END (e.g. none,0); got {text!r}")
    values = [None if p in ("none", "") else p for p in parts]
    try:
        return tuple(None if v is None else float(v) for v in values)  # type: ignore[return-value]
    except ValueError:
        from neurocl._core.errors import ParameterError

        raise ParameterError(f"--baseline takes START,END in seconds; got {text!r}") from None


def register(app: typer.Typer) -> None:
    """Add the ``build-fc`` group to ``app``."""
    app.add_typer(build_app, name="build-fc")
