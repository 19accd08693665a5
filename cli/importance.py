"""``neurocl importance``: per-node importance maps, per-network sums, brain pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from neurocl.cli._output import fmt_number, print_json, progress_bar, split_list, stderr, stdout


def _fmt(value: Any, digits: int = 4) -> str:
    return fmt_number(value, f".{digits}g")


def render_importance(result: Any, top: int = 10) -> None:
    """Print the per-network table (sum and mean per node) and the top nodes of each map."""
    from rich.console import Console
    from rich.table import Table

    console = stdout if stdout.is_terminal else Console(width=200, soft_wrap=True)
    info = result.info
    table = Table(title=f"importance per network: {info['label']} ({info['n_folds']} folds)",
                  header_style="bold")
    table.add_column("network")
    table.add_column("nodes", justify="right")
    for col in result.columns:
        table.add_column(f"{col} sum", justify="right")
        table.add_column(f"{col} mean", justify="right")
    for row in result.networks.to_dict("records"):
        cells = [str(row["network"]), str(row["n_nodes"])]
        for col in result.columns:
            cells += [_fmt(row[f"{col}_sum"]), _fmt(row[f"{col}_mean"])]
        table.add_row(*cells)
    console.print(table)
    for col in result.columns:
        nodes = Table(title=f"top {top} nodes: {col}", header_style="bold")
        for name in ("node", "network", "importance"):
            nodes.add_column(name, justify="right" if name == "importance" else "left")
        for row in result.top(col, top).to_dict("records"):
            nodes.add_row(str(row["name"]), str(row["network"]), _fmt(row[col]))
        console.print(nodes)


def importance(
    inputs: list[Path] = typer.Argument(
        ..., metavar="[RUN] DATASET",
        help="A run folder, then the dataset; the dataset alone explains the raw-FC probe.",
    ),
    label: str = typer.Option(..., "--label", "-l", help="Label column of the dataset."),
    methods: str = typer.Option(
        "occlusion,haufe,ig", "--methods",
        help="occlusion (one node at a time, encoder and raw FC), haufe (activation patterns "
        "of the linear raw-FC probe), ig (integrated gradients through encoder + linear "
        "probe; needs a run).",
    ),
    cv: int = typer.Option(5, "--cv", help="Outer folds; every row is explained held out."),
    repeats: int = typer.Option(1, "--repeats", help="Repetitions of the outer CV."),
    group: str = typer.Option("subject_id", "--group", help="Column never split between "
                              "train and test."),
    networks: Path = typer.Option(
        None, "--networks", help="Network table overriding the dataset's networks."
    ),
    atlas: str = typer.Option(
        None, "--atlas",
        help="Labels atlas (schaefer100, schaefer200 or a labels NIfTI) with one region per "
        "node, to paint NIfTI maps on [default: the dataset's atlas when it is one].",
    ),
    top_edges: int = typer.Option(20, "--top-edges", help="Edges in the connectome plots."),
    ig_steps: int = typer.Option(32, "--ig-steps", help="Integrated-gradients steps."),
    band: str = typer.Option(None, "--band", help="EEG: band of the raw-FC baseline."),
    task: str = typer.Option("auto", "--task", help="auto | classification | regression."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds."),
    device: str = typer.Option("cpu", "--device", help="auto | cpu | cuda | mps."),
    out: Path = typer.Option(
        None, "--out", "-o",
        help="Folder for importance_nodes.csv, importance_networks.csv, importance.json, "
        "NIfTI maps and PNG pictures.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Per-node importance (occlusion, integrated gradients, Haufe), per network and mapped."""
    from neurocl import api
    from neurocl._core.errors import ParameterError

    if len(inputs) not in (1, 2):
        raise ParameterError(f"importance takes [RUN] DATASET, got {len(inputs)} arguments")
    run, dataset = (None, inputs[0]) if len(inputs) == 1 else (inputs[0], inputs[1])
    with progress_bar(not as_json) as progress:
        result = api.importance(
            run, dataset, label=label, methods=split_list(methods), cv=cv, repeats=repeats,
            group=group, networks=networks, atlas=atlas, top_edges=top_edges,
            ig_steps=ig_steps, band=band, task=task, seed=seed, device=device, out=out,
            overwrite=overwrite, progress=progress,
        )
    for note in result.info.get("notes", []):
        stderr.print(f"note: {note}", markup=False, highlight=False)
    if as_json:
        print_json(result.to_dict())
        return
    render_importance(result)
    for path in result.files:
        stderr.print(f"wrote {path}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``importance`` to ``app``."""
    app.command("importance")(importance)
