"""Errors, registries and validation helpers shared by every layer."""

from neurocl._core.errors import (
    CheckpointError,
    DatasetError,
    InputFileError,
    NeuroclError,
    ParameterError,
    TrainingError,
)
from neurocl._core.registry import Registry

__all__ = [
    "CheckpointError",
    "DatasetError",
    "InputFileError",
    "NeuroclError",
    "ParameterError",
    "Registry",
    "TrainingError",
]
