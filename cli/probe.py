"""``neurocl probe``: leakage-safe probes of frozen representations against baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from neurocl.cli._output import fmt_number, print_json, progress_bar, split_list, stderr, stdout


def _fmt(value: Any, digits: int = 3) -> str:
    return fmt_number(value, f".{digits}f")


def render_result(result: Any) -> None:
    """Print the probe table (mean ± sd, or score [95 % CI]) and the paired comparisons."""
    from rich.table import Table

    info = result.info
    external = info.get("test_dataset") is not None
    metrics = [c[: -len("_mean")] for c in result.summary.columns if c.endswith("_mean")]
    if external:
        metrics = [c for c in result.summary.columns
                   if f"{c}_ci_low" in result.summary.columns]
    title = (f"{info['label']} ({info['task']}, {info['n_samples']} samples, "
             f"{info['scheme']}, {info['n_folds']} folds)")
    table = Table(title=title, header_style="bold")
    table.add_column("representation")
    table.add_column("probe")
    for m in metrics:
        table.add_column(m, justify="right")
    table.add_column("folds", justify="right")
    has_p = "p_permutation" in result.summary.columns
    if has_p:
        table.add_column("p (perm.)", justify="right")
    for row in result.summary.to_dict("records"):
        cells = [row["representation"], row["probe"]]
        for m in metrics:
            if external:
                cells.append(f"{_fmt(row[m])} [{_fmt(row[f'{m}_ci_low'])}, "
                             f"{_fmt(row[f'{m}_ci_high'])}]")
            else:
                cells.append(f"{_fmt(row[f'{m}_mean'])} ± {_fmt(row[f'{m}_sd'])}")
        cells.append(str(row["n_folds"]))
        if has_p:
            cells.append(_fmt(row["p_permutation"], 4))
        table.add_row(*cells)
    if stdout.is_terminal:
        stdout.print(table)
    else:  # piped: do not wrap the table at 80 columns
        from rich.console import Console

        Console(width=200, soft_wrap=True).print(table)
    for row in result.comparison.to_dict("records"):
        stdout.print(
            f"{row['a']} - {row['b']} ({row['probe']}, {row['metric']}): "
            f"{_fmt(row['mean_diff'])} [95% CI {_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}], "
            f"p = {_fmt(row['p'], 4)} ({row['test']})",
            markup=False, highlight=False,
        )


def probe(
    inputs: list[Path] = typer.Argument(
        ..., metavar="[RUN_OR_EMBEDDINGS] DATASET",
        help="A run folder or embeddings CSV, then the dataset; the dataset alone probes the "
        "baselines only.",
    ),
    label: str = typer.Option(..., "--label", "-l", help="Label column of the dataset."),
    task: str = typer.Option(
        "auto", "--task", help="auto | classification | regression (auto: from the values)."
    ),
    cv: int = typer.Option(5, "--cv", help="Outer folds (grouped, stratified)."),
    repeats: int = typer.Option(5, "--repeats", help="Repetitions of the outer CV (seeds)."),
    group: str = typer.Option(
        "subject_id", "--group",
        help="Column never split between train and test; 'run' gives leave-one-run-out.",
    ),
    site: str = typer.Option(None, "--site", help="Site column: leave-site-out folds."),
    test: Path = typer.Option(
        None, "--test", help="External test dataset: fit on DATASET, score on this one."
    ),
    test_embeddings: Path = typer.Option(
        None, "--test-embeddings", help="Embeddings CSV of --test (with an embeddings CSV)."
    ),
    baselines_only: bool = typer.Option(
        False, "--baselines-only", help="Probe raw FC, tangent and chance only."
    ),
    baselines: str = typer.Option(
        "raw-fc,tangent,chance", "--baselines", help="Baseline rows, comma-separated."
    ),
    probes: str = typer.Option("linear,knn", "--probes", help="Probes: linear, knn."),
    untrained: bool = typer.Option(
        True, "--untrained/--no-untrained", help="Add the untrained encoder (with a run)."
    ),
    permutations: int = typer.Option(
        0, "--permutations", help="Label permutations for a p-value per row (0: off)."
    ),
    deconfound: str = typer.Option(
        None, "--deconfound", help="Columns regressed out inside training folds (a,b,c)."
    ),
    band: str = typer.Option(None, "--band", help="EEG: band of the raw-FC baseline."),
    tangent_covariance: str = typer.Option(
        "ledoit-wolf", "--tangent-covariance",
        help="ledoit-wolf (from the stored signals unless stored so) | stored.",
    ),
    n_bootstrap: int = typer.Option(
        1000, "--n-bootstrap", help="Bootstrap resamples for --test intervals."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of folds, permutations and bootstrap."),
    device: str = typer.Option("cpu", "--device", help="auto | cpu | cuda | mps (embedding)."),
    n_jobs: int = typer.Option(1, "--n-jobs", help="Folds run in parallel."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the summary table as CSV."),
    predictions: Path = typer.Option(
        None, "--predictions", help="Write the per-fold test predictions as CSV."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing CSV files."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Probe frozen embeddings against raw-FC, tangent, untrained and chance on the same folds."""
    from neurocl import api
    from neurocl._core.errors import ParameterError

    if len(inputs) not in (1, 2):
        raise ParameterError(
            f"probe takes [RUN_OR_EMBEDDINGS] DATASET, got {len(inputs)} arguments"
        )
    source, dataset = (None, inputs[0]) if len(inputs) == 1 else (inputs[0], inputs[1])
    with progress_bar(not as_json) as progress:
        result = api.probe(
            source, dataset, label=label, baselines_only=baselines_only or source is None,
            test_dataset=test, test_embeddings=test_embeddings, untrained=untrained, task=task,
            cv=cv, repeats=repeats, group=group, site=site, baselines=split_list(baselines),
            probes=split_list(probes), permutations=permutations, deconfound=split_list(deconfound),
            seed=seed, band=band, tangent_covariance=tangent_covariance,
            n_bootstrap=n_bootstrap, device=device, n_jobs=n_jobs,
            out=out, predictions=predictions, overwrite=overwrite, progress=progress,
        )
    for note in result.info.get("notes", []):
        stderr.print(f"note: {note}", markup=False, highlight=False)
    if as_json:
        print_json({**result.to_dict(),
                    "files": [str(p) for p in (out, predictions) if p is not None]})
        return
    render_result(result)
    for path in (out, predictions):
        if path is not None:
            stderr.print(f"wrote {path}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``probe`` to ``app``."""
    app.command("probe")(probe)
