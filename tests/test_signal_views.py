"""Signal views: registry coverage, inputs untouched, known answers against numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurocl._core.errors import ParameterError
from neurocl.ssl.views import VIEWS, SignalView, ViewBatch, ViewPipeline, build_view

SIGNAL_VIEWS = ["amplitude-scale", "channel-drop", "freq-mask", "gaussian-noise", "time-crop",
                "time-mask", "time-shift"]
B, T, C = 5, 64, 3



@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors run faster on one thread, and do not fight over a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

def _signals(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, C, generator=g)


def _gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_every_signal_view_is_tested():
    registered = {n for n in VIEWS.names() if issubclass(VIEWS.get(n), SignalView)}
    assert set(SIGNAL_VIEWS) == registered


@pytest.mark.parametrize("name", SIGNAL_VIEWS)
def test_view_leaves_input_alone_and_is_seeded(name):
    x = _signals()
    lengths = torch.full((B,), T)
    batch = ViewBatch(fc=torch.zeros(B, C, C), timeseries=x, lengths=lengths)
    before = x.clone()
    view = build_view(name)
    out = view(batch, _gen())
    assert torch.equal(x, before) and torch.equal(lengths, torch.full((B,), T))
    assert batch.timeseries is x
    assert out.timeseries is not x
    assert out.timeseries.shape[0] == B and out.timeseries.shape[2] == C
    n = out.timeseries.shape[1]
    assert not torch.equal(out.timeseries, x[:, :n])
    again = view(batch, _gen())
    assert torch.equal(out.timeseries, again.timeseries)


@pytest.mark.parametrize("name", SIGNAL_VIEWS)
def test_view_keeps_padding_zero(name):
    x = _signals()
    lengths = torch.tensor([64, 50, 64, 40, 57])
    for b, n in enumerate(lengths.tolist()):
        x[b, n:] = 0
    out = build_view(name)(ViewBatch(fc=torch.zeros(B, C, C), timeseries=x, lengths=lengths),
                           _gen())
    new_len = out.lengths if out.lengths is not None else lengths
    for b, n in enumerate(new_len.tolist()):
        assert torch.all(out.timeseries[b, n:] == 0)


def test_time_crop_is_a_segment():
    x = _signals()
    out = build_view("time-crop:length=20")(ViewBatch(fc=torch.zeros(B, C, C), timeseries=x),
                                            _gen())
    assert out.timeseries.shape == (B, 20, C) and out.lengths.tolist() == [20] * B
    for b in range(B):
        starts = [s for s in range(T - 19) if torch.equal(x[b, s : s + 20], out.timeseries[b])]
        assert len(starts) == 1


def test_time_crop_too_long_is_refused():
    with pytest.raises(ParameterError, match="between 2 and 64"):
        build_view("time-crop:length=99")(ViewBatch(fc=torch.zeros(B, C, C),
                                                    timeseries=_signals()))


def test_time_shift_is_a_roll():
    x = _signals()
    out = build_view("time-shift:max_shift=5")(ViewBatch(fc=torch.zeros(B, C, C), timeseries=x),
                                               _gen())
    for b in range(B):
        shifts = [s for s in range(-5, 6) if torch.equal(torch.roll(x[b], s, dims=0),
                                                          out.timeseries[b])]
        assert len(shifts) == 1


def test_time_mask_zeros_one_span():
    x = _signals() + 10  # no zeros in the input
    out = build_view("time-mask:width=7")(ViewBatch(fc=torch.zeros(B, C, C), timeseries=x),
                                          _gen()).timeseries
    for b in range(B):
        zero = (out[b] == 0).all(dim=1).nonzero().flatten()
        assert len(zero) == 7 and int(zero[-1] - zero[0]) == 6
        keep = (out[b] != 0).all(dim=1)
        assert torch.equal(out[b][keep], x[b][keep])


def test_gaussian_noise_has_relative_scale():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 4000, 3, generator=g) * torch.tensor([1.0, 5.0, 0.01])
    out = build_view("gaussian-noise:sigma=0.2")(ViewBatch(fc=torch.zeros(4, 3, 3), timeseries=x),
                                                 _gen()).timeseries
    ratio = (out - x).std(dim=1) / x.std(dim=1)
    assert torch.allclose(ratio, torch.full_like(ratio, 0.2), rtol=0.06)


def test_freq_mask_zeros_a_band_against_numpy():
    x = _signals()
    out = build_view("freq-mask:width=0.2")(ViewBatch(fc=torch.zeros(B, C, C), timeseries=x),
                                            _gen()).timeseries.numpy()
    spec_in = np.fft.rfft(x.numpy(), axis=1)
    spec_out = np.fft.rfft(out, axis=1)
    n_bins = spec_in.shape[1]
    for b in range(B):
        zero = np.all(np.abs(spec_out[b]) < 1e-4, axis=1)
        idx = np.flatnonzero(zero)
        assert len(idx) == round(0.2 * n_bins) and idx[-1] - idx[0] == len(idx) - 1
        assert not zero[0]  # the DC bin is kept
        np.testing.assert_allclose(spec_out[b][~zero], spec_in[b][~zero], atol=1e-4)


def test_channel_drop_zeros_whole_channels():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 10, 6, generator=g) + 5
    out = build_view("channel-drop:p=0.3")(ViewBatch(fc=torch.zeros(200, 6, 6), timeseries=x),
                                           _gen()).timeseries
    dropped = (out == 0).all(dim=1)
    kept = (out == x).all(dim=1)
    assert torch.all(dropped ^ kept)
    assert abs(float(dropped.float().mean()) - 0.3) < 0.04


def test_amplitude_scale_per_channel_factor():
    x = _signals() + 3
    out = build_view("amplitude-scale:low=0.5:high=2")(
        ViewBatch(fc=torch.zeros(B, C, C), timeseries=x), _gen()).timeseries
    ratio = out / x
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-5)
    assert float(ratio.min()) >= 0.5 and float(ratio.max()) <= 2


@pytest.mark.parametrize("spec", ["time-crop:length=0", "time-mask:width=-1", "freq-mask:width=1",
                                  "channel-drop:p=1", "amplitude-scale:low=2:high=1",
                                  "gaussian-noise:sigma=0", "time-shift:max_shift=0"])
def test_bad_parameters_are_refused(spec):
    with pytest.raises(ParameterError):
        build_view(spec)


def test_signal_view_without_signals_says_so():
    with pytest.raises(ParameterError, match="acts on signals"):
        build_view("time-mask")(ViewBatch(fc=torch.zeros(2, 3, 3)))


def test_signal_views_then_fc_crop_make_fc_of_viewed_signals():
    x = _signals()
    pipe = ViewPipeline(["channel-drop:p=0.5", "fc-crop:length=1.0"])
    out = pipe(ViewBatch(fc=torch.zeros(B, C, C), timeseries=x, lengths=torch.full((B,), T)),
               featurize=lambda m: m, generator=_gen())
    dropped = ~(out.timeseries if out.timeseries is not None else x).bool().any(dim=1)
    # a dropped (constant zero) channel correlates 0 with the others
    for b, c in dropped.nonzero().tolist():
        others = [k for k in range(C) if k != c]
        assert torch.all(out.fc[b, c, others] == 0)
