"""``neurocl demo``: the whole pipeline on the bundled sample data."""

from __future__ import annotations

from pathlib import Path

import typer

from neurocl.cli._output import print_json, progress_bar, stderr, stdout


def demo(
    out: Path = typer.Option(Path("neurocl-demo"), "--out", "-o", help="Output folder."),
    quick: bool = typer.Option(False, "--quick", help="Smallest settings (what the tests run)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | mps (pretraining)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier demo's files."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run build-fc, pretrain, probe, ablate, importance and report on the sample data."""
    from neurocl import api
    from neurocl.cli.ablate import render_ablation
    from neurocl.cli.info import render_summary
    from neurocl.cli.probe import render_result

    settings = api.DEMO_SETTINGS["quick" if quick else "full"]
    banner = [
        f"neurocl demo ({'quick' if quick else 'full'}): 40 development subjects (AAL-116), "
        f"{settings['epochs']} pretraining epochs per encoder, {settings['cv']}-fold x "
        f"{settings['repeats']} probes, {settings['null']} random node sets per network"
    ]
    with progress_bar() as bar:
        def progress(stage: str, done: int, total: int, **info: float) -> None:
            while banner:  # once the first step runs (a bad --out stops before: one error line)
                stderr.print(banner.pop(), markup=False)
            bar(stage, done, total, **info)

        result = api.demo(out, quick=quick, overwrite=overwrite, device=device,
                          progress=progress)
    if as_json:
        print_json({"out": str(result.out), "steps": result.steps, "files": result.files})
        return
    render_summary(result.steps["build-fc"])
    for name in ("probe-contrastive", "probe-generative"):
        stdout.print(f"\n[bold]{name}[/bold] (child vs adult)")
        render_result(result.results[name])
    stdout.print("\n[bold]network ablation[/bold] (contrastive encoder and raw FC)")
    render_ablation(result.results["ablation"])
    stdout.print(f"\nfiles written under {result.out}/:")
    for name in result.files:
        stdout.print(f"  {name}", markup=False)
    stdout.print(f"\nopen {result.steps['report']} in a browser for the report", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo)
