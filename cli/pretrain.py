"""``neurocl pretrain``, ``neurocl embed`` and ``neurocl list``: self-supervised encoders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from neurocl.cli._output import print_json, progress_bar, stderr, stdout

#: options of ``pretrain`` that map one-to-one to config fields
_OPTIONS = (
    "encoder", "objective", "augment", "n_views", "epochs", "batch_size", "lr", "hidden",
    "layers", "sparsify", "node_features", "readout", "temperature", "hard_negatives", "device",
    "seed", "weight_decay", "warmup_epochs", "grad_clip", "proj_dim", "norm", "heads",
    "input", "mask_ratio", "mask",
)


def pretrain(
    ctx: typer.Context,
    dataset: Path = typer.Argument(..., help="Dataset directory (from `neurocl build-fc`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to write."),
    encoder: str = typer.Option(
        "gin", "--encoder", help="gcn | gin | sage | gat | brainnetcnn | transformer | st-gnn "
        "(dynamic FC) | cnn-transformer (signals)."
    ),
    objective: str = typer.Option(
        "ntxent", "--objective", help="ntxent | dcl | multiview-infonce | vicreg | cross-model "
        "| masked-graph | masked-dfc | masked-signal."
    ),
    augment: str = typer.Option(
        None, "--augment",
        help="Views, comma-separated, applied in order, with optional parameters: "
        "fc-crop[:length=0.5], edge-drop[:p=0.2], feature-mask[:p=0.2], node-drop[:p=0.1], "
        "edge-noise[:sigma=0.1]; on signals time-crop[:length=0.8], time-shift[:max_shift=0.2], "
        "time-mask[:width=0.1], gaussian-noise[:sigma=0.1], freq-mask[:width=0.1], "
        "channel-drop[:p=0.1], amplitude-scale[:low=0.8:high=1.2]. [default: fc-crop for FC "
        "input, time-mask,freq-mask,channel-drop for signals; none for masked objectives]",
    ),
    input: str = typer.Option(
        None, "--input", help="What the encoder reads: fc | dynamic | timeseries [default: the "
        "encoder's own: dynamic for st-gnn, timeseries for cnn-transformer, else fc]."
    ),
    mask_ratio: float = typer.Option(
        None, "--mask-ratio", help="Fraction masked by masked-graph / masked-dfc / "
        "masked-signal, in (0, 1) [default: 0.5]."
    ),
    mask: str = typer.Option(
        None, "--mask", help="What is masked: masked-graph features | edges | both "
        "[default: features]; masked-dfc windows | nodes | both [default: windows]."
    ),
    n_views: int = typer.Option(2, "--n-views", help="Views per subject (>2: multiview-infonce, "
                                "vicreg)."),
    epochs: int = typer.Option(100, "--epochs", help="Training epochs."),
    batch_size: int = typer.Option(64, "--batch-size", help="Subjects per step."),
    lr: float = typer.Option(1e-3, "--lr", help="Peak AdamW learning rate (warm-up, cosine)."),
    hidden: int = typer.Option(64, "--hidden", help="Encoder width (= embedding size)."),
    layers: int = typer.Option(3, "--layers", help="Encoder layers."),
    sparsify: str = typer.Option(
        "topk:0.2", "--sparsify",
        help="Edges kept, per subject on the fly: none | topk:DENSITY | knn:K | threshold:CUT.",
    ),
    node_features: str = typer.Option(
        "fc-row", "--node-features", help="fc-row | identity | degree."
    ),
    readout: str = typer.Option(
        "flatten", "--readout", help="flatten | node-weights | mean | sum | max."
    ),
    temperature: float = typer.Option(
        None, "--temperature", help="Contrastive temperature [default: 0.2]."
    ),
    hard_negatives: int = typer.Option(
        None, "--hard-negatives", help="Mixed hard negatives per anchor (InfoNCE family)."
    ),
    weight_decay: float = typer.Option(1e-4, "--weight-decay", help="AdamW weight decay."),
    warmup_epochs: int = typer.Option(5, "--warmup-epochs", help="Linear warm-up epochs."),
    grad_clip: float = typer.Option(1.0, "--grad-clip", help="Max gradient norm (0: off)."),
    proj_dim: int = typer.Option(64, "--proj-dim", help="Projection-head output size."),
    norm: str = typer.Option("layer", "--norm", help="layer | batch | none."),
    heads: int = typer.Option(None, "--heads", help="Attention heads (gat, transformer) "
                              "[default: 4]."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | mps."),
    seed: int = typer.Option(0, "--seed", help="Seed (CPU runs repeat exactly)."),
    config: Path = typer.Option(
        None, "--config", help="Replay a resolved config.json; options given here override it."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Pretrain a graph encoder with self-supervision; writes a run folder."""
    import warnings

    from neurocl import api
    from neurocl.train.distributed import is_main_process

    main = is_main_process()  # under torchrun only rank 0 draws progress and prints
    values = locals()
    given: dict[str, Any] = {}
    for name in _OPTIONS:
        source = ctx.get_parameter_source(name)
        # typer ships its own click, so compare the source by name
        explicit = source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")
        # without --config or --resume, every option (given or default) is the config
        if explicit or (config is None and not resume):
            given[name] = values[name]
    with progress_bar(enabled=main) as progress, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run = api.pretrain(dataset, out, config=config, resume=resume, overwrite=overwrite,
                           progress=progress, **given)
    if not main:
        return
    for text in run.warnings:
        stderr.print(f"[yellow]warning:[/yellow] {text}", soft_wrap=True, markup=False)
    hist = run.history
    summary = {
        "run": str(run.path),
        "encoder": run.options.encoder,
        "objective": run.options.objective,
        "epochs_done": run.epochs_done,
        "final_loss": float(hist["loss"].iloc[-1]) if len(hist) else None,
        "embedding_dim": run.embedding_dim,
        "files": sorted(p.name for p in run.path.iterdir() if not p.name.startswith(".")),
    }
    if as_json:
        print_json(summary)
    else:
        stdout.print(str(run.path))
        if summary["final_loss"] is not None:
            stderr.print(f"{summary['epochs_done']} epochs, final loss "
                         f"{summary['final_loss']:.4f}", markup=False)


def embed(
    run: Path = typer.Argument(..., help="Run folder (from `neurocl pretrain`)."),
    dataset: Path = typer.Argument(..., help="Dataset of the same atlas and FC kind."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="emb.csv (ids, labels, emb_*) or emb.npy (+ emb.csv)."
    ),
    untrained: bool = typer.Option(
        False, "--untrained", help="Use the initial weights (the untrained baseline)."
    ),
    device: str = typer.Option("cpu", "--device", help="auto | cpu | cuda | mps."),
    batch_size: int = typer.Option(128, "--batch-size", help="Subjects per forward pass."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing files."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Embed every sample of a dataset with a pretrained encoder."""
    from neurocl import api

    result = api.embed(run, dataset, out=out, untrained=untrained, device=device,
                       batch_size=batch_size, overwrite=overwrite)
    if as_json:
        print_json({"files": [str(p) for p in result.files],
                    "n_samples": int(result.embeddings.shape[0]),
                    "embedding_dim": int(result.embeddings.shape[1])})
    else:
        for path in result.files:
            stdout.print(str(path))


def list_components(
    what: str = typer.Argument(..., help="encoders | objectives | augmentations"),
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List the registered encoders, objectives or augmentations."""
    from neurocl.train.catalog import components

    items = components(what)
    if as_json:
        print_json(items)
        return
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for col in ("name", "parameters", "summary"):
        table.add_column(col)
    for item in items:
        params = ", ".join(f"{k}={v}" for k, v in item["params"].items())
        table.add_row(item["name"], params, item["summary"])
    stdout.print(table)


def register(app: typer.Typer) -> None:
    """Add ``pretrain``, ``embed`` and ``list`` to ``app``."""
    app.command("pretrain")(pretrain)
    app.command("embed")(embed)
    app.command("list")(list_components)
