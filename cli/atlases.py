"""``neurocl atlases``: the built-in atlases, their node counts and networks."""

from __future__ import annotations

import typer

from neurocl.cli._output import print_json, stdout


def atlases(
    as_json: bool = typer.Option(False, "--json", help="Print the atlases as JSON."),
) -> None:
    """List the built-in atlases (offline): name, kind, nodes and networks."""
    from neurocl import api

    items = api.atlases()
    if as_json:
        print_json(items)
        return
    from rich.table import Table

    table = Table(title="built-in atlases")
    for column in ("name", "kind", "nodes", "networks", "source"):
        table.add_column(column)
    for item in items:
        networks = ", ".join(f"{k} ({v})" for k, v in item["networks"].items())
        table.add_row(item["name"], item["kind"], str(item["n_nodes"]), networks,
                      item["description"])
    stdout.print(table)


def register(app: typer.Typer) -> None:
    """Add ``atlases`` to ``app``."""
    app.command("atlases")(atlases)
