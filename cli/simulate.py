"""``neurocl simulate``: a dataset with an effect planted in one functional network."""

from __future__ import annotations

from pathlib import Path

import typer

from neurocl.cli._output import print_json, stderr, stdout


def simulate(
    out: Path = typer.Option(..., "--out", "-o", help="Dataset directory to write."),
    planted_network: str = typer.Option(
        "Default", "--planted-network",
        help="Network whose inner FC differs between the classes (a network of the atlas: "
        "Visual, Somatomotor, DorsalAttention, VentralAttention, Limbic, Frontoparietal, "
        "Default for Schaefer-100; aliases such as DMN accepted).",
    ),
    subjects: int = typer.Option(100, "--subjects", help="Number of subjects (half per class)."),
    effect: float = typer.Option(
        None, "--effect",
        help="Correlation added to every pair of nodes of the planted network in class 1 "
        "(default 0.065: a raw-FC logistic probe reaches a balanced accuracy of about 0.8 "
        "with 100 subjects and 150 time points).",
    ),
    times: int = typer.Option(
        None, "--times", help="Time points per subject (default 150; more than the nodes)."
    ),
    atlas: str = typer.Option(
        "schaefer100", "--atlas",
        help="Atlas giving node names, networks and centroids (built-in name or file).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of labels, covariances and signals."),
    no_timeseries: bool = typer.Option(
        False, "--no-timeseries", help="Do not store the time series (the FC is the same)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Write a dataset whose binary 'label' classes differ in FC inside one network only."""
    from neurocl import api

    ds = api.simulate(
        out, n_subjects=subjects, planted_network=planted_network, effect=effect,
        n_times=times, atlas=atlas, seed=seed, timeseries=not no_timeseries,
        overwrite=overwrite,
    )
    sim = ds.meta["simulation"]
    summary = {
        "path": str(ds.path), "n_subjects": int(ds.n_samples), "n_nodes": int(ds.n_nodes),
        "atlas": ds.meta.get("atlas"), "label": "label",
        "classes": {str(k): int(v) for k, v in
                    ds.subjects["label"].value_counts().sort_index().items()},
        "planted_network": sim["planted_network"],
        "planted_nodes": len(sim["planted_nodes"]), "effect": sim["effect"],
        "n_times": sim["n_times"], "seed": sim["seed"],
        "timeseries": ds.timeseries is not None,
    }
    if as_json:
        print_json(summary)
        return
    stdout.print(
        f"{summary['path']}: {summary['n_subjects']} subjects x {summary['n_nodes']} nodes "
        f"({summary['atlas']}), label 0/1 = {summary['classes'].get('0', 0)}/"
        f"{summary['classes'].get('1', 0)}; effect {summary['effect']} planted in "
        f"{summary['planted_network']} ({summary['planted_nodes']} nodes), "
        f"{summary['n_times']} time points",
        markup=False, highlight=False,
    )
    stderr.print(f"wrote {ds.path}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to ``app``."""
    app.command("simulate")(simulate)
