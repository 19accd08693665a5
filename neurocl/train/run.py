"""A run folder: start or resume pretraining, reopen it, embed datasets with it.

Layout::

    RUN/
      config.json     the resolved options and the dataset's fingerprint (replay with --config)
      checkpoint.pt   state dicts, optimiser, scheduler, RNG states (tensors only), history
      history.csv     epoch, loss, lr, seconds, graphs_per_s
      loss_curve.png  the loss per epoch
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from neurocl._core.errors import CheckpointError, ParameterError
from neurocl._core.progress import ProgressCallback, no_progress
from neurocl.data.dataset import FCDataset, check_output_location, load_dataset
from neurocl.data.loader import DenseLoader
from neurocl.models.base import BrainGraphEncoder
from neurocl.train.checkpoint import load_checkpoint
from neurocl.train.config import PretrainConfig, read_config
from neurocl.train.device import resolve_device
from neurocl.train.distributed import shutdown
from neurocl.train.fit import Trainer, _write_text_atomic, build_model, dataset_fingerprint
from neurocl.train.inputs import embed_input

CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
HISTORY = "history.csv"
LOSS_CURVE = "loss_curve.png"


class Run:
    """A pretraining run folder, opened.

    Use :func:`load_run` to open one and :func:`pretrain` to make one.

    Attributes
    ----------
    path : Path
        The run folder.
    config : dict
        The content of ``config.json``: the resolved options plus ``dataset`` (the
        fingerprint of the training data), ``embedding_dim`` and ``neurocl_version``.
    warnings : list of str
        Adjustments made while training (only on the object :func:`pretrain` returns).
    """

    def __init__(self, path: str | Path, config: Mapping[str, Any],
                 warnings: list[str] | None = None) -> None:
        self.path = Path(path)
        self.config = dict(config)
        self.warnings = list(warnings or [])
        self.options = PretrainConfig.resolve(self.config)

    @property
    def embedding_dim(self) -> int:
        """Size of the subject embeddings."""
        return int(self.options.out_dim or self.options.hidden)

    @property
    def history(self) -> pd.DataFrame:
        """Loss per epoch (empty before the first epoch ends)."""
        file = self.path / HISTORY
        if not file.is_file():
            return pd.DataFrame(columns=["epoch", "loss", "lr", "seconds", "graphs_per_s"])
        return pd.read_csv(file)

    @property
    def epochs_done(self) -> int:
        """Epochs finished (from the history)."""
        hist = self.history
        return int(hist["epoch"].max()) if len(hist) else 0

    def check_compatible(self, dataset: FCDataset) -> None:
        """Raise :class:`CheckpointError` unless ``dataset`` matches the training data.

        The atlas, node names and their order, FC kind, Fisher z, modality and band must be
        the same; the samples may differ.

        Raises
        ------
        CheckpointError
            Naming the first difference.
        """
        trained = self.config.get("dataset") or {}
        given = dataset_fingerprint(dataset)
        for key, label in (("modality", "modality"), ("atlas", "atlas"), ("kind", "FC kind"),
                           ("fisher_z", "Fisher z setting"), ("band", "band")):
            if trained.get(key) != given.get(key):
                raise CheckpointError(
                    f"the run was trained on {label} {trained.get(key)!r} but {dataset.path} has "
                    f"{given.get(key)!r}; use a dataset built the same way as "
                    f"{trained.get('path')}",
                    self.path,
                )
        names_a, names_b = trained.get("node_names") or [], given["node_names"]
        if len(names_a) != len(names_b):
            raise CheckpointError(
                f"the run was trained on {len(names_a)} nodes but {dataset.path} has "
                f"{len(names_b)}; use a dataset of the same atlas",
                self.path,
            )
        for i, (a, b) in enumerate(zip(names_a, names_b, strict=True)):
            if a != b:
                raise CheckpointError(
                    f"node {i} is {a!r} in the training data but {b!r} in {dataset.path}: node "
                    "names or order differ; rebuild the dataset with the run's node table",
                    self.path,
                )

    def load_encoder(self, *, untrained: bool = False, device: str = "cpu") -> BrainGraphEncoder:
        """Return the encoder (eval mode), trained or with its initial weights.

        Parameters
        ----------
        untrained : bool
            Same architecture and seed, no training (a baseline).
        device : str
            Torch device.

        Raises
        ------
        CheckpointError
            When the checkpoint is missing, unreadable or does not fit the config.
        """
        model = build_model(self.options, len(self.config["dataset"]["node_names"]))
        if not untrained:
            file = self.path / CHECKPOINT
            data = load_checkpoint(file)
            try:
                model.load_state_dict(data["model"])
            except (RuntimeError, KeyError, TypeError) as exc:
                raise CheckpointError(
                    f"does not fit the model described by {CONFIG} ({type(exc).__name__}); "
                    "the checkpoint belongs to another run: put back the run's own checkpoint "
                    "or train again",
                    file,
                ) from None
        return model.encoder.to(resolve_device(device)).eval()

    def embed(
        self,
        dataset: FCDataset | str | Path,
        *,
        untrained: bool = False,
        device: str = "cpu",
        batch_size: int = 128,
        fc: np.ndarray | None = None,
    ) -> np.ndarray:
        """Subject embeddings of ``dataset`` from the frozen encoder (head dropped).

        Parameters
        ----------
        dataset : FCDataset or path
            A dataset of the run's atlas, node order and FC kind.
        untrained : bool
            Use the encoder's initial weights (same architecture and seed, no training).
        device : str
            Torch device (``auto`` allowed).
        batch_size : int
            Samples per forward pass.
        fc : ndarray of shape (n_samples, n_nodes, n_nodes), optional
            Embed these matrices instead of ``dataset.fc`` (e.g. with a network masked);
            only for runs whose encoder reads static FC.

        Returns
        -------
        ndarray of shape (n_samples, embedding_dim), float32

        Raises
        ------
        CheckpointError
            When the dataset does not match the run or the checkpoint is unusable.
        """
        ds = dataset if isinstance(dataset, FCDataset) else load_dataset(dataset)
        self.check_compatible(ds)
        kind = self.options.input or "fc"
        if kind != "fc":
            if fc is not None:
                raise ParameterError(
                    f"fc replaces the static FC, but this run's encoder reads {kind} input; "
                    "embed the dataset without fc"
                )
            encoder = self.load_encoder(untrained=untrained, device=device)
            return embed_input(encoder, ds, kind, self.embedding_dim, batch_size=batch_size)
        matrices = ds.fc if fc is None else fc
        expected = (ds.n_samples, ds.n_nodes, ds.n_nodes)
        if tuple(np.shape(matrices)) != expected:
            raise ParameterError(
                f"fc must have shape {expected} (samples, nodes, nodes) to match the dataset; "
                f"got {tuple(np.shape(matrices))}"
            )
        encoder = self.load_encoder(untrained=untrained, device=device)
        return _embed_matrices(encoder, np.asarray(matrices) if fc is not None else matrices,
                               self.embedding_dim, batch_size)

    def retrain_embed(
        self,
        dataset: FCDataset | str | Path,
        fc: np.ndarray,
        *,
        device: str = "cpu",
        batch_size: int = 128,
    ) -> np.ndarray:
        """Pretrain this run's encoder again on ``fc``, from scratch, and embed ``fc`` with it.

        The new encoder is trained with the run's own options and seed (epochs, objective,
        views...) on ``dataset`` with its static FC replaced by ``fc`` (e.g. one network
        masked), in a temporary folder that is removed afterwards. With ``fc`` equal to the
        FC the run was trained on, this reproduces the run's embeddings on CPU.

        Parameters
        ----------
        dataset : FCDataset or path
            A dataset of the run's atlas, node order and FC kind.
        fc : ndarray of shape (n_samples, n_nodes, n_nodes)
            The matrices to train on and to embed.
        device : str
            Torch device of the retraining (``auto`` allowed).
        batch_size : int
            Samples per forward pass when embedding.

        Returns
        -------
        ndarray of shape (n_samples, embedding_dim), float32

        Raises
        ------
        ParameterError
            When the run's encoder or views do not read static FC alone (dynamic FC, time
            series, fc-crop views), so that masking the FC would not remove the network.
        """
        ds = dataset if isinstance(dataset, FCDataset) else load_dataset(dataset)
        self.check_compatible(ds)
        kind = self.options.input or "fc"
        if kind != "fc":
            raise ParameterError(
                f"retraining masks the static FC, but this run's encoder reads {kind} input; "
                "use strategy mask-input (or an encoder that reads FC)"
            )
        masked = ds.with_fc(np.asarray(fc, dtype=np.float32))
        trainer = Trainer(masked, PretrainConfig.resolve(self.config, device=device))
        if trainer.pipeline.needs_timeseries:
            raise ParameterError(
                "this run's fc-crop views recompute FC from the time series, which a masked FC "
                "does not change; use strategy mask-input"
            )
        with tempfile.TemporaryDirectory(prefix="neurocl-retrain-") as tmp:
            trainer.fit(Path(tmp))
        encoder = trainer.model.encoder.eval()
        return _embed_matrices(encoder, masked.fc, self.embedding_dim, batch_size)

    def __repr__(self) -> str:
        return (f"Run({str(self.path)!r}, encoder={self.options.encoder!r}, "
                f"objective={self.options.objective!r}, epochs_done={self.epochs_done})")


def _embed_matrices(encoder: BrainGraphEncoder, matrices: np.ndarray, dim: int,
                    batch_size: int) -> np.ndarray:
    """Embed FC matrices (n_samples, n_nodes, n_nodes) with a frozen encoder, float32."""
    dev = next(encoder.parameters()).device
    loader = DenseLoader(matrices, batch_size=batch_size, device=dev)
    out = np.empty((len(matrices), dim), dtype=np.float32)
    start = 0
    with torch.no_grad():
        for batch in loader:
            emb = encoder(batch.fc).graph.float().cpu().numpy()
            out[start : start + len(emb)] = emb
            start += len(emb)
    return out


def load_run(path: str | Path) -> Run:
    """Open a run folder written by :func:`pretrain`.

    Raises
    ------
    CheckpointError
        When the folder has no readable ``config.json`` from ``neurocl pretrain``.
    """
    path = Path(path)
    file = path / CONFIG
    if not file.is_file():
        raise CheckpointError(
            f"not a run folder (no {CONFIG}); give a folder written by `neurocl pretrain`", path
        )
    try:
        config = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{CONFIG} is not valid JSON ({exc}); the run is damaged: "
                              "train again", path) from None
    if not isinstance(config, dict) or "dataset" not in config or "encoder" not in config:
        raise CheckpointError(f"{CONFIG} was not written by `neurocl pretrain`", path)
    try:
        return Run(path, config)
    except ParameterError as exc:
        raise CheckpointError(f"{CONFIG} holds invalid options ({exc})", path) from None


def pretrain(
    dataset: FCDataset | str | Path,
    out: str | Path,
    *,
    config: Mapping[str, Any] | str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: ProgressCallback = no_progress,
    **options: Any,
) -> Run:
    """Pretrain an encoder with self-supervision and write a run folder.

    Parameters
    ----------
    dataset : FCDataset or path
        Training data.
    out : str or Path
        Run folder to create (or to continue with ``resume``).
    config : mapping or path, optional
        A resolved config to replay (a run's ``config.json``); ``options`` override it.
    resume : bool
        Continue the run in ``out`` from its checkpoint; options that differ from the
        stored ones (other than ``device``) are refused.
    overwrite : bool
        Replace an existing run folder.
    progress : callable
        Called as ``progress("epoch", done, total, loss=..., graphs_per_s=...)``.
    **options
        Fields of :class:`~neurocl.train.config.PretrainConfig`; None means not given.

    Returns
    -------
    Run

    Raises
    ------
    ParameterError, DatasetError, CheckpointError
        On bad input, before anything is written.
    TrainingError
        When the loss becomes NaN (the last good checkpoint stays in ``out``).

    Notes
    -----
    Under ``torchrun`` (``WORLD_SIZE > 1`` in the environment) every process calls this
    function: they join one process group (NCCL on CUDA, gloo on CPU), train one
    DistributedDataParallel model on their shares of each global batch, and only rank 0
    writes ``out``. Every process returns the same :class:`Run`.
    """
    try:
        return _pretrain(dataset, out, config=config, resume=resume, overwrite=overwrite,
                         progress=progress, **options)
    finally:
        shutdown()  # leave a process group this run joined


def _pretrain(
    dataset: FCDataset | str | Path,
    out: str | Path,
    *,
    config: Mapping[str, Any] | str | Path | None,
    resume: bool,
    overwrite: bool,
    progress: ProgressCallback,
    **options: Any,
) -> Run:
    ds = dataset if isinstance(dataset, FCDataset) else load_dataset(dataset)
    out = Path(out)
    base = read_config(config) if isinstance(config, (str, Path)) else dict(config or {})
    explicit = {**{k: v for k, v in base.items() if k in PretrainConfig.fields()},
                **{k: v for k, v in options.items() if v is not None}}
    if resume:
        stored = load_run(out)
        stored.check_compatible(ds)
        cfg = PretrainConfig.resolve(stored.config, **explicit)
        old = stored.options
        changed = [k for k in PretrainConfig.fields()
                   if k != "device" and getattr(cfg, k) != getattr(old, k)]
        if changed:
            raise ParameterError(
                f"--resume continues {out} with its own options, but "
                + ", ".join(f"{k}={getattr(cfg, k)!r} (run: {getattr(old, k)!r})"
                            for k in changed)
                + " differ; drop those options or start a new run"
            )
        if not (out / CHECKPOINT).is_file():
            raise CheckpointError(
                f"has no {CHECKPOINT} to resume from (it stopped before the first epoch "
                "ended); start again with --overwrite",
                out,
            )
        trainer = Trainer(ds, cfg)
        trainer.restore(out / CHECKPOINT)
        record = stored.config
        if trainer.dist.is_main:  # temporary files of a write that was killed
            for stale in out.glob(".*.tmp-*"):
                stale.unlink(missing_ok=True)
    else:
        cfg = PretrainConfig.resolve(base, **options)
        if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
            raise ParameterError(
                f"{out} already exists; pass --resume to continue it, --overwrite to replace it, "
                "or choose another --out"
            )
        check_output_location(out)
        # all ranks have checked ``out`` once the Trainer exists (DDP synchronises them)
        trainer = Trainer(ds, cfg)
        record = {
            **cfg.to_dict(),
            "embedding_dim": trainer.model.encoder.embedding_dim,
            "augment": trainer.pipeline.specs() or None,
            "input": trainer.input,
            "dataset": dataset_fingerprint(ds),
            "neurocl_version": _version(),
        }
        if trainer.dist.is_main:
            if out.exists() and overwrite:
                if out.is_dir():
                    shutil.rmtree(out)
                else:
                    out.unlink()
            out.mkdir(parents=True, exist_ok=True)
            _write_text_atomic(out / CONFIG, json.dumps(record, indent=2) + "\n")
    for text in trainer.warnings:
        warnings.warn(text, UserWarning, stacklevel=2)
    trainer.fit(out, progress)
    return Run(out, record, trainer.warnings)


def _version() -> str:
    from neurocl._version import __version__

    return __version__


__all__ = ["Run", "load_run", "pretrain"]
