"""``neurocl demo``: the pipeline on the bundled sample data."""

from __future__ import annotations

from pathlib import Path

import typer

from neurocl.cli._output import print_json, progress_bar, stdout


def demo(
    out: Path = typer.Option(Path("neurocl-demo"), "--out", "-o", help="Output folder."),
    quick: bool = typer.Option(False, "--quick", help="Smallest settings (seconds)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier demo's files."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run neurocl on the bundled sample data and list the files it wrote."""
    from neurocl import api
    from neurocl.cli.info import render_summary

    with progress_bar() as progress:
        result = api.demo(out, quick=quick, overwrite=overwrite, progress=progress)
    if as_json:
        print_json({"out": str(result.out), "steps": result.steps, "files": result.files})
        return
    render_summary(result.steps["build-fc"])
    stdout.print(f"\nfiles written under {result.out}/:")
    for name in result.files:
        stdout.print(f"  {name}", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo)
