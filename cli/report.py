"""``neurocl report``: one self-contained HTML page for a folder of results."""

from __future__ import annotations

from pathlib import Path

import typer

from neurocl.cli._output import print_json, stdout


def report(
    folder: Path = typer.Argument(..., help="Run, dataset, analysis or demo folder."),
    out: Path = typer.Option(None, "--out", "-o", help="HTML file [default: FOLDER/report.html]."),
    as_json: bool = typer.Option(False, "--json", help="Print the path as JSON."),
) -> None:
    """Write an HTML report: tables, loss curves, maps and the provenance of every input."""
    from neurocl import api

    path = api.report(folder, out)
    if as_json:
        print_json({"report": str(path)})
    else:
        stdout.print(str(path), markup=False)


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app``."""
    app.command("report")(report)
