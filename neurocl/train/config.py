"""The resolved configuration of a pretraining run (what ``config.json`` holds)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neurocl._core.errors import InputFileError, ParameterError


@dataclasses.dataclass
class PretrainConfig:
    """Every option of ``neurocl pretrain``, resolved.

    Attributes
    ----------
    encoder : str
        Registered encoder (``neurocl list encoders``).
    objective : str
        Registered objective (``neurocl list objectives``).
    augment : list or None
        Views applied to make each positive view, in order (``neurocl list augmentations``);
        strings such as ``"edge-drop:p=0.3"`` or dicts ``{"name": ..., **params}``. None:
        the default of the input (``fc-crop`` for FC, ``time-mask,freq-mask,channel-drop``
        for signals); objectives that use no views refuse an explicit list.
    n_views : int
        Views per subject and step (2, or more for ``multiview-infonce`` / ``vicreg``).
    epochs, batch_size : int
        Training length and samples per step.
    lr, weight_decay : float
        AdamW learning rate (peak, after warm-up) and weight decay.
    warmup_epochs : int
        Linear warm-up length; cosine decay to zero follows.
    grad_clip : float
        Maximum gradient norm (0 turns clipping off).
    hidden, layers : int
        Encoder width and depth.
    out_dim : int or None
        Subject-embedding size (default: ``hidden``).
    proj_dim : int
        Projection-head output size (the head is dropped for embeddings).
    readout, norm, sparsify, node_features : str
        Encoder options (see :class:`neurocl.models.BrainGraphEncoder`).
    heads : int or None
        Attention heads (gat, transformer).
    temperature : float or None
        Contrastive temperature (None: the objective's default).
    hard_negatives : int or None
        Mixed hard negatives per anchor for the InfoNCE family (None or 0: off).
    device : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:1`` or ``mps``.
    amp : bool
        bf16 autocast on CUDA.
    seed : int
        Seed of the initial weights, the shuffling and the views.
    input : {"fc", "dynamic", "timeseries"} or None
        What the encoder reads: static FC, sliding-window FC or the signals (None: the
        encoder's own, ``dynamic`` for st-gnn, ``timeseries`` for cnn-transformer, else ``fc``).
    mask_ratio : float or None
        Fraction masked by the masked objectives, in (0, 1) (None: the objective's default).
    mask : str or None
        What the masked objectives hide (masked-graph: ``features``, ``edges``, ``both``;
        masked-dfc: ``windows``, ``nodes``, ``both``; None: the objective's default).
    """

    encoder: str = "gin"
    objective: str = "ntxent"
    augment: list[Any] | None = None
    n_views: int = 2
    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_epochs: int = 5
    grad_clip: float = 1.0
    hidden: int = 64
    layers: int = 3
    out_dim: int | None = None
    proj_dim: int = 64
    readout: str = "flatten"
    norm: str = "layer"
    sparsify: str = "topk:0.2"
    node_features: str = "fc-row"
    heads: int | None = None
    temperature: float | None = None
    hard_negatives: int | None = None
    device: str = "auto"
    amp: bool = True
    seed: int = 0
    input: str | None = None
    mask_ratio: float | None = None
    mask: str | None = None

    @classmethod
    def fields(cls) -> list[str]:
        """Names of the options."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def resolve(
        cls, base: Mapping[str, Any] | None = None, **overrides: Any
    ) -> PretrainConfig:
        """Defaults, then ``base`` (a replayed config), then the non-None ``overrides``.

        Raises
        ------
        ParameterError
            On an option that does not exist.
        """
        values: dict[str, Any] = {}
        for source in (base or {}), {k: v for k, v in overrides.items() if v is not None}:
            unknown = sorted(set(source) - set(cls.fields()) - RECORD_KEYS)
            if unknown:
                raise ParameterError(
                    f"unknown pretrain option {', '.join(unknown)}; valid options: "
                    f"{', '.join(cls.fields())}"
                )
            values.update({k: v for k, v in source.items() if k in cls.fields()})
        if isinstance(values.get("augment"), str):
            values["augment"] = [s for s in values["augment"].split(",") if s.strip()]
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        """Raise :class:`ParameterError` on values out of range."""
        for name in ("epochs", "batch_size", "hidden", "layers", "proj_dim", "n_views"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ParameterError(f"{name} must be a positive integer; got {value!r}")
        if self.n_views < 2:
            raise ParameterError(f"n_views must be >= 2; got {self.n_views}")
        if not self.lr > 0:
            raise ParameterError(f"lr must be > 0; got {self.lr!r}")
        if self.warmup_epochs < 0 or self.grad_clip < 0 or self.weight_decay < 0:
            raise ParameterError("warmup_epochs, grad_clip and weight_decay must be >= 0")
        if self.input is not None and self.input not in INPUT_KINDS:
            raise ParameterError(
                f"input must be one of {', '.join(INPUT_KINDS)}; got {self.input!r}"
            )
        if self.augment is not None and not self.augment:
            raise ParameterError(
                "augment is empty: give at least one view (e.g. --augment fc-crop)"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the options."""
        return dataclasses.asdict(self)

    def encoder_params(self) -> dict[str, Any]:
        """Keyword arguments of the encoder class."""
        params: dict[str, Any] = {
            "hidden": self.hidden,
            "layers": self.layers,
            "out_dim": self.out_dim,
            "node_features": self.node_features,
            "sparsify": self.sparsify,
            "readout": self.readout,
            "norm": self.norm,
        }
        if self.heads is not None:
            params["heads"] = self.heads
        return params

    def objective_params(self) -> dict[str, Any]:
        """Keyword arguments of the objective class (options left unset are omitted)."""
        return {"temperature": self.temperature, "hard_negatives": self.hard_negatives,
                "mask_ratio": self.mask_ratio, "mask": self.mask}


#: what an encoder can read: static FC, sliding-window FC, signals
INPUT_KINDS = ("fc", "dynamic", "timeseries")

#: keys of config.json that record the run rather than set an option
RECORD_KEYS = {"dataset", "neurocl_version", "embedding_dim", "command"}


def read_config(path: str | Path) -> dict[str, Any]:
    """Read a config JSON file (a run's ``config.json`` or a hand-written one).

    Raises
    ------
    InputFileError
        When the file is missing or not a JSON object.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise InputFileError("config file not found; give a run's config.json", path)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"is not valid JSON ({exc}); give a run's config.json", path) from exc
    if not isinstance(data, dict):
        raise InputFileError("must hold a JSON object of pretrain options", path)
    return data
