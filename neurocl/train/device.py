"""Device selection and mixed precision."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from neurocl._core.errors import ParameterError


def resolve_device(device: str = "auto") -> torch.device:
    """Return the torch device for ``device`` (``auto``: cuda, then mps, then cpu).

    Raises
    ------
    ParameterError
        When the device is unknown or not available on this machine.
    """
    name = str(device).strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ParameterError(
            f"device must be auto, cpu, cuda, cuda:N or mps; got {device!r}"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device 'cuda' was asked for but no GPU is visible; use --device auto")
    if dev.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ParameterError("device 'mps' is not available here; use --device auto")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ParameterError(f"device must be auto, cpu, cuda, cuda:N or mps; got {device!r}")
    return dev


def autocast(device: torch.device, enabled: bool = True) -> Any:
    """bf16 autocast on CUDA when ``enabled``; a no-op context elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
