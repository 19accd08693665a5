"""``neurocl ablate``: which functional network carries the information a probe reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from neurocl.cli._output import fmt_number, print_json, progress_bar, split_list, stderr, stdout


def _fmt(value: Any, digits: int = 3, signed: bool = False) -> str:
    return fmt_number(value, f"{'+' if signed else ''}.{digits}f")


def render_ablation(result: Any) -> None:
    """Print one table per representation: a row per network, sorted by effect."""
    from rich.console import Console
    from rich.table import Table

    from neurocl.evaluate.ablation import MODE_PREFIX

    info = result.info
    metric = info["metric"]
    console = stdout if stdout.is_terminal else Console(width=200, soft_wrap=True)
    for rep in info["representations"]:
        sub = result.table[result.table["representation"] == rep]
        title = (f"{rep}: {info['label']} ({metric}, intact {_fmt(info['intact'][rep])}; "
                 f"{info['n_folds']} folds, null R = {info['n_null']}"
                 + (f", {info['strategy']}" if rep == "encoder" else "") + ")")
        table = Table(title=title, header_style="bold")
        table.add_column("network")
        table.add_column("nodes", justify="right")
        for mode in info["modes"]:
            pre = MODE_PREFIX[mode]
            table.add_column(f"{mode}", justify="right")
            table.add_column(f"{pre} delta [95% CI]", justify="right")
            table.add_column(f"{pre} p (null)", justify="right")
            table.add_column(f"{pre} q (FDR)", justify="right")
        for row in sub.to_dict("records"):
            cells = [str(row["network"]), str(row["n_nodes"])]
            for mode in info["modes"]:
                pre = MODE_PREFIX[mode]
                cells += [
                    _fmt(row[f"{pre}_{metric}"]),
                    f"{_fmt(row[f'{pre}_delta'], signed=True)} "
                    f"[{_fmt(row[f'{pre}_ci_low'], signed=True)}, "
                    f"{_fmt(row[f'{pre}_ci_high'], signed=True)}]",
                    _fmt(row[f"{pre}_p_null"]),
                    _fmt(row[f"{pre}_p_fdr"]),
                ]
            table.add_row(*cells)
        console.print(table)


def ablate(
    inputs: list[Path] = typer.Argument(
        ..., metavar="[RUN] DATASET",
        help="A run folder, then the dataset; the dataset alone ablates the raw-FC baseline.",
    ),
    label: str = typer.Option(..., "--label", "-l", help="Label column of the dataset."),
    mode: str = typer.Option(
        "drop,keep-only", "--mode",
        help="drop (zero the network's FC rows/columns; raw FC: remove its edges) and/or "
        "keep-only (zero everything outside its block; raw FC: keep its inner edges).",
    ),
    strategy: str = typer.Option(
        "mask-input", "--strategy",
        help="How a network is removed from the run's representation: mask-input (the "
        "frozen encoder embeds the masked FC; fast) | retrain (the encoder is pretrained "
        "again, with the run's options and seed, on the masked FC: one pretraining run per "
        "network, mode and null set; for a GPU and time).",
    ),
    null: int = typer.Option(
        None, "--null",
        help="Random node sets of the same size per network (0: no p-values); default 100, "
        "39 with --strategy retrain (smallest p 0.025). Cost: one probe refit per fold, mode "
        "and set, plus one embedding pass (mask-input) or one pretraining run (retrain) per "
        "set with a run; 100 take about 70 s of CPU for the raw-FC baseline of 115 subjects "
        "x 116 nodes, 8 networks, 5 x 3 folds.",
    ),
    cv: int = typer.Option(5, "--cv", help="Outer folds (grouped, stratified)."),
    repeats: int = typer.Option(3, "--repeats", help="Repetitions of the outer CV (seeds)."),
    group: str = typer.Option(
        "subject_id", "--group",
        help="Column never split between train and test; 'run' gives leave-one-run-out.",
    ),
    networks: Path = typer.Option(
        None, "--networks",
        help="Network table overriding the dataset's networks: TSV/CSV with a name column "
        "(name, roi_name, label) and a network column (network, yeo7_network); every node "
        "of the dataset must be listed.",
    ),
    unassigned: str = typer.Option(
        "group", "--unassigned",
        help="Nodes without a network: group (a network 'None' of their own) | drop (no row; "
        "they stay in the input).",
    ),
    only: str = typer.Option(None, "--only", help="Ablate only these networks (a,b,c)."),
    baselines_only: bool = typer.Option(
        False, "--baselines-only", help="Ablate the raw-FC baseline only (even with a run)."
    ),
    band: str = typer.Option(None, "--band", help="EEG: band of the raw-FC baseline."),
    task: str = typer.Option("auto", "--task", help="auto | classification | regression."),
    probe: str = typer.Option("linear", "--probe", help="linear | knn."),
    seed: int = typer.Option(0, "--seed", help="Seed of folds and random node sets."),
    device: str = typer.Option("cpu", "--device", help="auto | cpu | cuda | mps (embedding)."),
    out: Path = typer.Option(
        None, "--out", "-o",
        help="Folder for ablation.csv, ablation.json, ablation_folds.csv, ablation_null.csv "
        "and ablation.png.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Ablate each network, probe again on the same folds, compare with size-matched nulls."""
    from neurocl import api
    from neurocl._core.errors import ParameterError

    if len(inputs) not in (1, 2):
        raise ParameterError(f"ablate takes [RUN] DATASET, got {len(inputs)} arguments")
    run, dataset = (None, inputs[0]) if len(inputs) == 1 else (inputs[0], inputs[1])
    with progress_bar(not as_json) as progress:
        result = api.ablate(
            run, dataset, label=label, modes=split_list(mode), strategy=strategy,
            n_null=null, cv=cv,
            repeats=repeats, group=group, networks=networks, unassigned=unassigned,
            only=split_list(only) or None, baselines_only=baselines_only, band=band, task=task,
            probe=probe, seed=seed, device=device, out=out, overwrite=overwrite,
            progress=progress,
        )
    for note in result.info.get("notes", []):
        stderr.print(f"note: {note}", markup=False, highlight=False)
    if as_json:
        print_json(result.to_dict())
        return
    render_ablation(result)
    for path in result.files:
        stderr.print(f"wrote {path}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``ablate`` to ``app``."""
    app.command("ablate")(ablate)
