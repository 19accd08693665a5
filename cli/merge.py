"""``neurocl merge-fc``: join shard datasets built with ``build-fc --shard i/n``."""

from __future__ import annotations

from pathlib import Path

import typer

from neurocl.cli._output import command_line, print_json, progress_bar


def merge_fc(
    shards: list[Path] = typer.Argument(..., help="Shard dataset directories, in order."),
    out: Path = typer.Option(..., "--out", "-o", help="Merged dataset directory."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Merge shard datasets of one build into one dataset (chunk by chunk)."""
    from neurocl import api
    from neurocl.cli.info import render_summary

    with progress_bar() as progress:
        summary = api.merge_fc(shards, out, overwrite=overwrite, command=command_line(),
                               progress=progress)
    if as_json:
        print_json(summary)
    else:
        render_summary(summary)


def register(app: typer.Typer) -> None:
    """Add ``merge-fc`` to ``app``."""
    app.command("merge-fc")(merge_fc)
