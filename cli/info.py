"""``neurocl info``: summarise a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from neurocl.cli._output import print_json, stdout


def render_summary(summary: dict[str, Any]) -> None:
    """Print a dataset summary as a rich table on stdout."""
    from rich.table import Table

    table = Table(title=f"dataset {summary['path']}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    rows = [
        ("modality", summary.get("modality")),
        ("samples", summary["n_samples"]),
        ("subjects", summary["n_subjects"]),
        ("nodes", summary["n_nodes"]),
        ("kind", summary.get("kind")),
        ("fisher z", summary.get("fisher_z")),
        ("atlas", summary.get("atlas")),
        ("time series", f"{summary['n_times']} frames" if summary["has_timeseries"] else "no"),
        ("dynamic FC", f"{summary['n_windows']} windows" if summary["has_dynamic_fc"] else "no"),
    ]
    if summary.get("bands"):
        rows.append(("bands", f"{', '.join(summary['bands'])} (fc: {summary.get('band')})"))
    rows.append(("networks", ", ".join(f"{k} ({v})" for k, v in summary["networks"].items())))
    rows.append(("label columns", ", ".join(summary["label_columns"]) or "none"))
    for key, value in rows:
        table.add_row(key, "" if value is None else str(value))
    stdout.print(table)


def info(
    dataset: Path = typer.Argument(..., help="Dataset directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Summarise a dataset: samples, nodes, kind, networks, labels."""
    from neurocl import api

    summary = api.info(dataset)
    if as_json:
        print_json(summary)
    else:
        render_summary(summary)


def register(app: typer.Typer) -> None:
    """Add ``info`` to ``app``."""
    app.command("info")(info)
