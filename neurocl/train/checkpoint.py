"""Checkpoints: state dicts and RNG states as tensors, written atomically, read safely.

A checkpoint is loaded with ``torch.load(..., weights_only=True)``: it holds tensors, numbers,
strings, lists and dicts only, never pickled Python objects.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import torch

from neurocl._core.errors import CheckpointError

FORMAT = "neurocl-pretrain-checkpoint"
FORMAT_VERSION = 1


def rng_state(generators: dict[str, torch.Generator]) -> dict[str, Any]:
    """Return the global torch/CUDA RNG states and those of ``generators`` as uint8 tensors."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    for name, gen in generators.items():
        state[name] = gen.get_state().cpu()
    return state


def set_rng_state(state: dict[str, Any], generators: dict[str, torch.Generator]) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for name, gen in generators.items():
        if name in state:
            gen.set_state(state[name].cpu())


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (temporary sibling, then ``os.replace``).

    Parameters
    ----------
    path : str or Path
        The checkpoint file.
    payload : dict
        State dicts, RNG states, epoch and history (tensors and plain values only).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, **payload}, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a neurocl checkpoint safely (``weights_only=True``) and check its format.

    Raises
    ------
    CheckpointError
        When the file is missing, corrupted, holds pickled objects, or is not a neurocl
        pretraining checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            "checkpoint not found: the run stopped before its first epoch ended, or this is not "
            "a run folder; point to a folder written by `neurocl pretrain` or train again",
            path,
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (torch raises many types on broken files)
        # the weights-only unpickler refuses any global it does not know
        text = str(exc)
        if "Unsupported global" in text or "Unsupported class" in text or "GLOBAL" in text:
            raise CheckpointError(
                "holds pickled Python objects, which neurocl never loads; it is not a neurocl "
                "checkpoint (retrain, or point to the run folder that `neurocl pretrain` wrote)",
                path,
            ) from None
        raise CheckpointError(
            f"cannot be read ({type(exc).__name__}); the file is corrupted or truncated: "
            "resume from a copy or train again",
            path,
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(
            "is not a neurocl pretraining checkpoint (no neurocl format tag); point to the run "
            "folder that `neurocl pretrain` wrote",
            path,
        )
    if data.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"has checkpoint format version {data.get('format_version')!r}; this neurocl "
            f"reads {FORMAT_VERSION}: train again with this version",
            path,
        )
    for key in ("epoch", "model"):
        if key not in data:
            raise CheckpointError(f"lacks {key!r}; the checkpoint is incomplete", path)
    return data
