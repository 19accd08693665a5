"""Temporal cleaning of ROI signals through nilearn's ``signal.clean``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from neurocl._core.errors import ParameterError


@dataclass
class CleaningOptions:
    """What to do to each sample's signals before FC.

    Attributes
    ----------
    standardize : bool
        z-score each signal (nilearn's ``"zscore_sample"``).
    detrend : bool
        Remove a linear trend.
    high_pass, low_pass : float or None
        Band-pass edges in Hz (need ``t_r``).
    t_r : float or None
        Repetition time in seconds.
    """

    standardize: bool = False
    detrend: bool = False
    high_pass: float | None = None
    low_pass: float | None = None
    t_r: float | None = None

    @property
    def active(self) -> bool:
        """Whether any cleaning step is asked for."""
        return bool(self.standardize or self.detrend or self.high_pass or self.low_pass)

    def as_dict(self) -> dict[str, Any]:
        """Return the options as a JSON-ready dict."""
        return asdict(self)

    def check(self) -> None:
        """Raise :class:`ParameterError` for inconsistent options."""
        if (self.high_pass or self.low_pass) and not self.t_r:
            raise ParameterError("band-pass filtering needs the repetition time: pass --t-r")
        if self.t_r is not None and self.t_r <= 0:
            raise ParameterError(f"--t-r must be > 0 seconds; got {self.t_r}")
        if self.t_r and self.low_pass and self.low_pass >= 0.5 / self.t_r:
            raise ParameterError(
                f"--low-pass {self.low_pass} Hz is at or above the Nyquist frequency "
                f"{0.5 / self.t_r:g} Hz of TR {self.t_r} s; lower it"
            )
        if self.high_pass and self.low_pass and self.high_pass >= self.low_pass:
            raise ParameterError(
                f"--high-pass {self.high_pass} must be below --low-pass {self.low_pass}"
            )


def clean_signals(
    signals: np.ndarray, options: CleaningOptions, confounds: np.ndarray | None = None
) -> np.ndarray:
    """Clean one sample's signals.

    Parameters
    ----------
    signals : ndarray of shape (n_times, n_nodes)
    options : CleaningOptions
    confounds : ndarray of shape (n_times, n_confounds), optional
        Regressed out together with the filtering (nilearn orthogonalises them).

    Returns
    -------
    ndarray of shape (n_times, n_nodes), float64
    """
    from nilearn import signal

    return signal.clean(
        np.asarray(signals, dtype=np.float64),
        confounds=confounds,
        detrend=options.detrend,
        standardize="zscore_sample" if options.standardize else None,
        standardize_confounds=True,
        high_pass=options.high_pass,
        low_pass=options.low_pass,
        t_r=options.t_r,
    )
