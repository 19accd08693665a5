"""Exception types raised by neurocl.

Library code raises these and never prints or exits; the command line turns them into one
red line and an exit code (2 for bad input or usage, 1 for failures).
"""

from __future__ import annotations

from pathlib import Path


class NeuroclError(Exception):
    """Base class of every error neurocl raises on purpose.

    Parameters
    ----------
    message : str
        One sentence: what is wrong, and how to fix it.
    path : str or Path, optional
        The file the problem is about; it is put in front of the message.
    """

    exit_code = 1

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class InputFileError(NeuroclError, ValueError):
    """A file given as input is missing, unreadable or holds invalid content."""

    exit_code = 2


class ParameterError(NeuroclError, ValueError):
    """A parameter has a value outside what is allowed."""

    exit_code = 2


class DatasetError(NeuroclError, ValueError):
    """A neurocl dataset directory is missing, incomplete or inconsistent."""

    exit_code = 2


class CheckpointError(NeuroclError, ValueError):
    """A checkpoint is missing, corrupted, foreign, or does not match the dataset."""

    exit_code = 2


class TrainingError(NeuroclError, RuntimeError):
    """Training failed (for instance the loss became NaN)."""

    exit_code = 1
