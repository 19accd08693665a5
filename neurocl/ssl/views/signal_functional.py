"""Tensor operations behind the signal views; each returns new tensors, the input is untouched.

Signals are (batch, n_times, n_channels), zero-padded at the end; ``lengths`` (batch,) gives
the valid time points of each (None: all valid). Random draws come from ``generator``.
"""

from __future__ import annotations

import torch

from neurocl.ssl.views.functional import crop_starts, segment


def _lengths(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    if lengths is None:
        return torch.full((x.shape[0],), x.shape[1], dtype=torch.int64, device=x.device)
    return lengths.to(device=x.device, dtype=torch.int64)


def _valid(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(batch, n_times, 1) bool: True at valid time points."""
    t = torch.arange(x.shape[1], device=x.device)
    return (t.unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)


def _uniform(shape: tuple[int, ...], generator: torch.Generator | None,
             device: torch.device) -> torch.Tensor:
    return torch.rand(shape, generator=generator, device=device)


def n_samples(size: float, shortest: int) -> int:
    """Return a size given as a fraction (<= 1) of ``shortest`` or in samples (> 1)."""
    return int(round(size * shortest)) if size <= 1 else int(size)


def time_crop(
    x: torch.Tensor, lengths: torch.Tensor | None, length: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut a random segment of ``length`` samples from the valid part of each signal.

    Returns
    -------
    signals : Tensor of shape (batch, length, n_channels)
    lengths : Tensor of shape (batch,), all equal to ``length``
    """
    lens = _lengths(x, lengths)
    starts = crop_starts(lens, length, generator)
    return segment(x, starts, length), torch.full_like(lens, length)


def time_shift(
    x: torch.Tensor, lengths: torch.Tensor | None, max_shift: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Roll each signal circularly in time by a random shift in ``[-max_shift, max_shift]``.

    The roll stays within each signal's valid part (padding stays at the end).
    """
    lens = _lengths(x, lengths)
    u = _uniform((x.shape[0],), generator, x.device)
    shift = torch.floor(u * (2 * max_shift + 1)).to(torch.int64) - max_shift
    t = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    src = torch.remainder(t - shift.unsqueeze(1), lens.clamp(min=1).unsqueeze(1))
    idx = torch.where(t < lens.unsqueeze(1), src, t)
    return torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[2]))


def time_mask(
    x: torch.Tensor, lengths: torch.Tensor | None, width: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero one random span of ``width`` consecutive samples (all channels) in each signal."""
    lens = _lengths(x, lengths)
    start = crop_starts(lens, min(width, int(lens.min())), generator)
    t = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    hit = (t >= start.unsqueeze(1)) & (t < (start + width).unsqueeze(1))
    return x.masked_fill(hit.unsqueeze(-1), 0.0)


def gaussian_noise(
    x: torch.Tensor, lengths: torch.Tensor | None, sigma: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add white Gaussian noise with ``sigma`` times each channel's standard deviation."""
    lens = _lengths(x, lengths)
    valid = _valid(x, lens).to(x.dtype)
    count = lens.clamp(min=2).to(x.dtype).view(-1, 1, 1)
    mean = (x * valid).sum(1, keepdim=True) / count
    std = (((x - mean) * valid).square().sum(1, keepdim=True) / (count - 1)).sqrt()
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + sigma * std * noise * valid


def freq_mask(
    x: torch.Tensor, lengths: torch.Tensor | None, width: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Band-stop in the Fourier domain: zero a random band of ``width`` x the spectrum.

    For each signal, the real FFT over its valid part is taken, a contiguous band of
    ``round(width * n_bins)`` bins (never the DC bin) is zeroed in every channel, and the
    signal is transformed back.
    """
    lens = _lengths(x, lengths)
    out = x.clone()
    for length in torch.unique(lens).tolist():
        rows = torch.nonzero(lens == length).flatten()
        seg = x[rows, :length].float()
        spec = torch.fft.rfft(seg, dim=1)
        n_bins = spec.shape[1]
        k = min(max(int(round(width * n_bins)), 1), max(n_bins - 1, 1))
        room = max(n_bins - 1 - k, 0) + 1
        start = 1 + torch.floor(_uniform((len(rows),), generator, x.device) * room).long()
        f = torch.arange(n_bins, device=x.device).unsqueeze(0)
        hit = (f >= start.unsqueeze(1)) & (f < (start + k).unsqueeze(1))
        spec = spec.masked_fill(hit.unsqueeze(-1), 0)
        out[rows, :length] = torch.fft.irfft(spec, n=length, dim=1).to(x.dtype)
    return out


def channel_drop(
    x: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero each channel of each signal with probability ``p``."""
    keep = _uniform((x.shape[0], 1, x.shape[2]), generator, x.device) >= p
    return x * keep.to(x.dtype)


def amplitude_scale(
    x: torch.Tensor, low: float, high: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Multiply each channel of each signal by a factor drawn uniformly in ``[low, high]``."""
    u = _uniform((x.shape[0], 1, x.shape[2]), generator, x.device).to(x.dtype)
    return x * (low + (high - low) * u)
