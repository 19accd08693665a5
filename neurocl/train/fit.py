"""The pretraining loop: views, encoder, projection head, objective, AdamW."""

from __future__ import annotations

import csv
import json
import math
import os
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neurocl._core.errors import DatasetError, ParameterError, TrainingError
from neurocl._core.progress import ProgressCallback, no_progress
from neurocl.data.dataset import FCDataset
from neurocl.data.loader import DenseBatch, DenseLoader
from neurocl.models import ProjectionHead, build_encoder
from neurocl.models.base import BrainGraphEncoder
from neurocl.ssl import ViewBatch, ViewPipeline, build_objective
from neurocl.ssl.objectives import EncoderObjective
from neurocl.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from neurocl.train.config import PretrainConfig
from neurocl.train.device import autocast, resolve_device
from neurocl.train.distributed import Replica
from neurocl.train.distributed import setup as setup_distributed
from neurocl.train.inputs import (
    batch_input,
    check_views,
    input_arrays,
    resolve_augment,
    resolve_input,
    shortest_signal,
)
from neurocl.train.schedule import make_scheduler

HISTORY_COLUMNS = ("epoch", "loss", "lr", "seconds", "graphs_per_s")


class PretrainModel(nn.Module):
    """Encoder plus projection head; only the encoder is kept for embeddings.

    Parameters
    ----------
    encoder : BrainGraphEncoder
        The encoder.
    proj_dim : int
        Output size of the projection head.
    """

    def __init__(self, encoder: BrainGraphEncoder, proj_dim: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = ProjectionHead(encoder.embedding_dim, encoder.embedding_dim, proj_dim)

    def forward(
        self, fc: torch.Tensor, x: torch.Tensor | None = None, node_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Project a batch of views: (batch, n, n) -> (batch, proj_dim)."""
        return self.head(self.encoder(fc, x=x, node_mask=node_mask).graph)


def build_model(config: PretrainConfig, n_nodes: int) -> PretrainModel:
    """Build encoder and head with the initial weights that ``config.seed`` fixes.

    The encoder is built first, so ``build_encoder`` under the same seed gives the same
    encoder weights (the untrained baseline). Objectives that own modules (decoders of the
    masked objectives, the branch heads of cross-model) put them in place of the head.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        encoder = build_encoder(config.encoder, n_nodes, **config.encoder_params())
        model = PretrainModel(encoder, config.proj_dim)
        objective = build_objective(config.objective, **config.objective_params())
        if isinstance(objective, EncoderObjective):
            model.head = objective.build_modules(encoder, config.proj_dim)
        return model


def dataset_fingerprint(dataset: FCDataset) -> dict[str, Any]:
    """Return what a run remembers of its dataset, to refuse an incompatible one later."""
    meta = dataset.meta
    return {
        "path": str(dataset.path),
        "modality": meta.get("modality"),
        "atlas": meta.get("atlas"),
        "kind": meta.get("kind"),
        "fisher_z": meta.get("fisher_z"),
        "band": meta.get("band"),
        "n_samples": dataset.n_samples,
        "n_nodes": dataset.n_nodes,
        "node_names": [str(n) for n in dataset.nodes["name"]],
    }


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_history(path: Path, history: list[dict[str, float]]) -> None:
    """Write the per-epoch history as CSV, atomically."""
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (int(row[k]) if k == "epoch" else f"{row[k]:.6g}")
                         for k in HISTORY_COLUMNS})
    _write_text_atomic(path, buf.getvalue())


def plot_loss_curve(path: Path, history: list[dict[str, float]]) -> None:
    """Draw the loss per epoch to a PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.2), dpi=120)
    ax = fig.add_subplot()
    ax.plot([h["epoch"] for h in history], [h["loss"] for h in history], marker=".", lw=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}.png")
    try:
        fig.savefig(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Trainer:
    """Everything a pretraining run needs, checked before anything is written.

    Parameters
    ----------
    dataset : FCDataset
        The training data.
    config : PretrainConfig
        The resolved options.

    Attributes
    ----------
    warnings : list of str
        Adjustments the user should know about (a reduced batch size...).
    """

    def __init__(self, dataset: FCDataset, config: PretrainConfig) -> None:
        self.dataset = dataset
        self.config = config
        self.warnings: list[str] = []
        #: rank and size of the process group (one process without torchrun)
        self.dist = setup_distributed(resolve_device(config.device))
        self.device = self.dist.device(resolve_device(config.device))
        self.model = build_model(config, dataset.n_nodes).to(self.device)
        self.objective = build_objective(config.objective, **config.objective_params())
        self.objective.check_views(config.n_views)
        self.encoder_objective = isinstance(self.objective, EncoderObjective)
        self.input = resolve_input(config.input, self.model.encoder, self.objective,
                                   config.encoder, config.objective)
        meta = dataset.meta
        augment = resolve_augment(config.augment, self.input, self.objective, config.objective)
        self.pipeline = ViewPipeline(augment, fisher_z=bool(meta.get("fisher_z")))
        check_views(self.pipeline, self.input)
        arrays = input_arrays(dataset, self.input)
        self.timeseries = arrays.get("timeseries")
        self.dynamic_fc = arrays.get("dynamic_fc")
        if self.timeseries is not None:
            for view in self.pipeline.views:
                view.n_times(shortest_signal(self.timeseries))  # type: ignore[attr-defined]
        if self.input == "fc" and self.pipeline.needs_timeseries:
            self.timeseries = dataset.timeseries
            if self.timeseries is None:
                raise DatasetError(
                    "has no time series, which the fc-crop view needs; rebuild it from signals "
                    "with `neurocl build-fc`, or choose graph views (e.g. --augment "
                    "edge-drop,feature-mask)",
                    dataset.path,
                )
            kind = meta.get("kind")
            if kind not in (None, "correlation"):
                raise ParameterError(
                    f"fc-crop computes Pearson correlation but the dataset's FC kind is "
                    f"{kind!r}; use a correlation dataset or other views"
                )
            shortest = int(np.min(getattr(self.timeseries, "lengths", [self.timeseries.shape[1]])))
            for view in self.pipeline.views:
                if view.needs_timeseries:
                    view.n_times(shortest)  # type: ignore[attr-defined]
        if self.pipeline.has_feature_views and not self.model.encoder.uses_node_features:
            raise ParameterError(
                f"encoder {config.encoder!r} reads the FC matrix, not node features, so the "
                "feature-mask view would do nothing; drop it from --augment"
            )
        if dataset.n_samples < 2:
            raise DatasetError("has fewer than 2 samples; contrastive pretraining needs more",
                               dataset.path)
        self.batch_size = config.batch_size
        if config.batch_size > dataset.n_samples:
            self.batch_size = dataset.n_samples
            self.warnings.append(
                f"batch size {config.batch_size} is larger than the dataset "
                f"({dataset.n_samples} samples); using {self.batch_size}"
            )
        # --batch-size is the global batch; each process reads its share of every batch
        self.batch_size, local_batch = self.dist.split_batch(self.batch_size)
        if self.dist.enabled and self.batch_size != min(config.batch_size, dataset.n_samples):
            self.warnings.append(
                f"batch size {config.batch_size} does not split evenly over "
                f"{self.dist.world_size} processes; using {self.batch_size}"
            )
        torch.manual_seed(self.dist.seed(config.seed + 2))  # dropout, repeatable per rank
        self.data_gen = torch.Generator().manual_seed(config.seed)
        self.view_gen = torch.Generator(device=self.device).manual_seed(
            self.dist.seed(config.seed + 1))
        #: the order of each epoch: a permutation seeded by seed + epoch, split over ranks
        self.sampler = self.dist.sampler(dataset.n_samples, config.seed)
        self.loader = DenseLoader(
            dataset.fc, self.timeseries, batch_size=local_batch, sampler=self.sampler,
            generator=self.data_gen, device=self.device, min_batch=self.dist.min_local_batch(),
            dynamic_fc=self.dynamic_fc,
        )
        #: encoder passes per sample and step (for the graphs_per_s column)
        self.passes = (config.n_views if not self.encoder_objective
                       else 2 if self.objective.uses_views else 1)
        self.steps_per_epoch = len(self.loader)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.scheduler = make_scheduler(
            self.optimizer, config.warmup_epochs * self.steps_per_epoch,
            config.epochs * self.steps_per_epoch,
        )
        self.history: list[dict[str, float]] = []
        self.epoch = 0
        #: runs every loss computation (through DDP with several processes)
        self.replica = Replica(self.model, self.dist, self.device)

    # ------------------------------------------------------------------ state

    def _generators(self) -> dict[str, torch.Generator]:
        return {"data": self.data_gen, "views": self.view_gen}

    def _rng_state(self) -> dict[str, Any]:
        state = rng_state(self._generators())
        if self.dist.enabled:  # every rank draws its own views and dropout masks
            torch_states = self.dist.gather_states(torch.get_rng_state(), self.device)
            view_states = self.dist.gather_states(self.view_gen.get_state(), self.device)
            state["ranks"] = [{"torch": t, "views": v}
                              for t, v in zip(torch_states, view_states, strict=True)]
        return state

    def state(self) -> dict[str, Any]:
        """Checkpoint payload: state dicts, RNG states, epoch and history.

        With several processes every rank must call it (the RNG states are gathered).
        """
        return {
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": self._rng_state(),
            "history": {k: [float(h[k]) for h in self.history] for k in HISTORY_COLUMNS},
            "config": json.dumps(self.config.to_dict(), sort_keys=True),
        }

    def restore(self, path: Path) -> None:
        """Continue from the checkpoint at ``path``.

        Raises
        ------
        CheckpointError
            When the checkpoint is unreadable or does not fit this model.
        """
        from neurocl._core.errors import CheckpointError

        data = load_checkpoint(path)
        try:
            self.model.load_state_dict(data["model"])
            self.optimizer.load_state_dict(data["optimizer"])
            self.scheduler.load_state_dict(data["scheduler"])
            set_rng_state(data["rng"], self._generators())
            self._restore_rank_rng(data["rng"], int(data["epoch"]))
            hist = data["history"]
            self.history = [
                {k: float(hist[k][i]) for k in HISTORY_COLUMNS} for i in range(len(hist["epoch"]))
            ]
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(
                f"does not fit this run's model and options ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:120]}); it belongs to another run",
                path,
            ) from None
        self.epoch = int(data["epoch"])

    def _restore_rank_rng(self, state: dict[str, Any], epoch: int) -> None:
        if not self.dist.enabled:
            return
        ranks = state.get("ranks")
        if isinstance(ranks, list) and len(ranks) == self.dist.world_size:
            torch.set_rng_state(ranks[self.dist.rank]["torch"])
            self.view_gen.set_state(ranks[self.dist.rank]["views"].cpu())
            return
        self.warnings.append(
            f"the checkpoint was written by {len(ranks) if isinstance(ranks, list) else 1} "
            f"process(es), this run has {self.dist.world_size}: the random views after epoch "
            f"{epoch} differ from those of an uninterrupted run"
        )
        torch.manual_seed(self.dist.seed(self.config.seed + 2) + epoch)
        self.view_gen.manual_seed(self.dist.seed(self.config.seed + 1) + epoch)

    # ------------------------------------------------------------------ training

    def views(self, batch: DenseBatch) -> ViewBatch:
        """Make ``n_views`` views of ``batch`` and stack them along the batch axis."""
        base = ViewBatch(fc=batch.fc, timeseries=batch.timeseries, lengths=batch.lengths)
        made = [
            self.pipeline(base, featurize=self.model.encoder.featurize, generator=self.view_gen)
            for _ in range(self.config.n_views)
        ]
        x = None if made[0].x is None else torch.cat([v.x for v in made])  # type: ignore[misc]
        masks = [v.node_mask for v in made]
        node_mask = None
        if any(m is not None for m in masks):
            node_mask = torch.cat([
                torch.ones(v.fc.shape[:2], dtype=torch.bool, device=v.fc.device)
                if m is None else m for v, m in zip(made, masks, strict=True)
            ])
        return ViewBatch(fc=torch.cat([v.fc for v in made]), x=x, node_mask=node_mask)

    def augment_signals(self, batch: DenseBatch, signals: torch.Tensor) -> torch.Tensor:
        """Apply the signal views to ``signals`` (batch, n_times, n_channels) of ``batch``."""
        view = self.pipeline(ViewBatch(fc=batch.fc, timeseries=signals),
                             featurize=lambda m: m, generator=self.view_gen)
        assert view.timeseries is not None
        return view.timeseries

    def encoder_objective_loss(self, batch: DenseBatch) -> torch.Tensor:
        """Loss of an objective that runs the encoder itself (masked, cross-model)."""
        objective: EncoderObjective = self.objective  # type: ignore[assignment]
        augment = None
        if objective.uses_views:
            def augment(signals: torch.Tensor) -> torch.Tensor:
                return self.augment_signals(batch, signals)
        with autocast(self.device, self.config.amp):
            return self.replica(lambda model: objective.loss(
                model.encoder, model.head, batch_input(batch, self.input), augment=augment,
                generator=self.view_gen))

    def step(self, batch: DenseBatch) -> float:
        """One optimiser step on ``batch``; returns the loss."""
        if self.encoder_objective:
            loss = self.encoder_objective_loss(batch)
        else:
            with torch.no_grad():
                views = self.views(batch)
            with autocast(self.device, self.config.amp):
                z = self.replica(lambda model: model(views.fc, x=views.x,
                                                     node_mask=views.node_mask))
                # negatives (and VICReg statistics) come from the global batch
                loss = self.objective([self.dist.gather(v)
                                       for v in z.float().chunk(self.config.n_views)],
                                      self.view_gen)
        value = float(self.dist.mean(loss.detach()))
        if not math.isfinite(value):
            self._fail("the loss")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            if not torch.isfinite(norm):
                self._fail("the gradient norm")
        self.optimizer.step()
        self.scheduler.step()
        return value

    def _fail(self, what: str) -> None:
        done = self.epoch
        kept = (f"the checkpoint of epoch {done} is kept" if done
                else "no checkpoint was written yet")
        raise TrainingError(
            f"{what} became NaN or infinite in epoch {done + 1}; {kept}; lower --lr, raise "
            "--temperature or check the dataset for NaN values"
        )

    def fit(self, out: Path, progress: ProgressCallback = no_progress) -> None:
        """Train from ``self.epoch`` to ``config.epochs``, checkpointing every epoch in ``out``."""
        total = self.config.epochs
        main = self.dist.is_main  # only rank 0 writes files and shows progress
        if not main:
            progress = no_progress
        progress("epoch", self.epoch, total)
        try:
            while self.epoch < total:
                self.model.train()
                self.sampler.set_epoch(self.epoch)
                start = time.perf_counter()
                loss_sum, seen = 0.0, 0
                for batch in self.loader:
                    loss_sum += self.step(batch) * len(batch)
                    seen += len(batch)
                loss_sum, seen = self.dist.total([loss_sum, seen], self.device)
                if self.device.type == "cuda":
                    torch.cuda.synchronize(self.device)
                seconds = time.perf_counter() - start
                self.epoch += 1
                row = {
                    "epoch": self.epoch,
                    "loss": loss_sum / max(seen, 1),
                    "lr": self.optimizer.param_groups[0]["lr"],
                    "seconds": seconds,
                    "graphs_per_s": seen * self.passes / max(seconds, 1e-9),
                }
                self.history.append(row)
                state = self.state()
                if main:
                    save_checkpoint(out / "checkpoint.pt", state)
                    write_history(out / "history.csv", self.history)
                progress("epoch", self.epoch, total, loss=row["loss"],
                         graphs_per_s=row["graphs_per_s"])
            self.dist.barrier()
        finally:
            if self.history and main:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    plot_loss_curve(out / "loss_curve.png", self.history)
