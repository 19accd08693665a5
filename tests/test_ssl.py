"""Views and objectives: registry coverage, inputs untouched, known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from neurocl._core.errors import ParameterError
from neurocl.ssl import OBJECTIVES, VIEWS, ViewBatch, ViewPipeline, build_objective, build_view
from neurocl.ssl.objectives import functional as F
from neurocl.ssl.views import functional as VF
from neurocl.ssl.views import parse_view

TESTED_VIEWS = ["edge-drop", "edge-noise", "fc-crop", "feature-mask", "node-drop"]
TESTED_OBJECTIVES = ["dcl", "multiview-infonce", "ntxent", "vicreg"]
B, T, N = 4, 30, 6


def _batch(seed: int = 0) -> ViewBatch:
    g = torch.Generator().manual_seed(seed)
    ts = torch.randn(B, T, N, generator=g)
    return ViewBatch(fc=VF.pearson(ts), timeseries=ts, lengths=torch.full((B,), T))


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_every_registered_view_and_objective_is_tested():
    # signal views and encoder-specific objectives are covered by their own test modules
    from neurocl.ssl.objectives.encoder_objective import EncoderObjective
    from neurocl.ssl.views.signal_base import SignalView

    graph_views = {n for n in VIEWS.names() if not issubclass(VIEWS.get(n), SignalView)}
    contrastive = {n for n in OBJECTIVES.names()
                   if not issubclass(OBJECTIVES.get(n), EncoderObjective)}
    assert set(TESTED_VIEWS) == graph_views
    assert set(TESTED_OBJECTIVES) == contrastive


@pytest.mark.parametrize("name", TESTED_VIEWS)
def test_view_leaves_input_unchanged_and_keeps_shapes(name):
    batch = _batch()
    before = {k: v.clone() for k, v in vars(batch).items() if v is not None}
    pipe = ViewPipeline([name if name != "edge-noise" else "edge-noise:sigma=0.2"])
    out = pipe(batch, featurize=lambda fc: fc * 1.0, generator=_gen())
    for key, value in before.items():
        assert torch.equal(getattr(batch, key), value), key
    assert out.fc.shape == (B, N, N)
    assert torch.allclose(out.fc, out.fc.mT, atol=1e-6)
    changed = not torch.equal(out.fc, batch.fc) or (out.x is not None and not torch.equal(
        out.x, batch.fc))
    assert changed
    again = pipe(batch, featurize=lambda fc: fc * 1.0, generator=_gen())
    assert torch.equal(again.fc, out.fc)  # same generator state, same view


def test_fc_crop_full_length_is_pearson_of_the_signals():
    batch = _batch()
    view = build_view("fc-crop:length=30")
    out = view(batch, _gen())
    for b in range(B):
        np.testing.assert_allclose(out.fc[b].numpy(), np.corrcoef(batch.timeseries[b].numpy().T),
                                   rtol=1e-5, atol=1e-5)
    z = build_view("fc-crop", fisher_z=True)
    assert z.fisher_z and z.length == 0.5
    assert torch.all(z(batch, _gen()).fc.diagonal(dim1=-2, dim2=-1) == 0)


def test_fc_crop_takes_the_segment_it_draws():
    batch = _batch()
    starts = VF.crop_starts(batch.lengths, 12, _gen(3))
    assert ((starts >= 0) & (starts <= T - 12)).all()
    seg = VF.segment(batch.timeseries, starts, 12)
    for b in range(B):
        s = int(starts[b])
        assert torch.equal(seg[b], batch.timeseries[b, s : s + 12])
    out = build_view("fc-crop:length=0.4")(batch, _gen(3))  # round(0.4 * 30) = 12
    expect = np.corrcoef(seg[1].numpy().T)
    np.testing.assert_allclose(out.fc[1].numpy(), expect, rtol=1e-5, atol=1e-5)


def test_fc_crop_respects_each_signal_length():
    batch = _batch()
    lengths = torch.tensor([30, 12, 20, 15])
    ts = batch.timeseries.clone()
    ts[1, 12:] = 1e6  # padding must never be read
    starts = VF.crop_starts(lengths, 12, _gen(1))
    assert int(starts[1]) == 0
    out = build_view("fc-crop:length=12")(batch.replace(timeseries=ts, lengths=lengths), _gen(1))
    assert out.fc.abs().max() <= 1.0 + 1e-6


def test_fc_crop_errors():
    with pytest.raises(ParameterError, match="needs the signals"):
        build_view("fc-crop")(ViewBatch(fc=torch.eye(3)[None]), _gen())
    with pytest.raises(ParameterError, match="between 3 and 30"):
        build_view("fc-crop:length=40")(_batch(), _gen())


def test_edge_drop_fraction_and_symmetry():
    fc = torch.ones(2, 60, 60)
    out = VF.drop_edges(fc, 0.3, _gen())
    assert torch.equal(out, out.mT)
    assert torch.all(out.diagonal(dim1=-2, dim2=-1) == 1)
    dropped = 1 - out.triu(1).sum() / (2 * 60 * 59 / 2)
    assert abs(float(dropped) - 0.3) < 0.03


def test_edge_noise_is_symmetric_with_the_asked_spread():
    fc = torch.zeros(3, 50, 50)
    out = VF.edge_noise(fc, 0.2, _gen())
    assert torch.equal(out, out.mT) and torch.all(out.diagonal(dim1=-2, dim2=-1) == 0)
    rows, cols = torch.triu_indices(50, 50, 1)
    upper = out[:, rows, cols]
    assert abs(float(upper.std()) - 0.2) < 0.01


def test_node_drop_zeroes_rows_and_columns():
    batch = _batch()
    out = build_view("node-drop:p=0.5")(batch, _gen())
    mask = out.node_mask
    assert mask.dtype == torch.bool and (~mask).any()
    for b, i in (~mask).nonzero().tolist():
        assert torch.all(out.fc[b, i] == 0) and torch.all(out.fc[b, :, i] == 0)
    kept = mask[0].nonzero().flatten()
    assert torch.equal(out.fc[0][kept][:, kept], batch.fc[0][kept][:, kept])
    again = build_view("node-drop:p=0.5")(out, _gen(5))
    assert not (again.node_mask & ~mask).any()  # dropped nodes stay dropped


def test_feature_mask_hides_whole_columns_after_featurizing():
    batch = _batch()
    pipe = ViewPipeline(["feature-mask:p=0.5", "edge-drop:p=0.5"])
    seen = []
    out = pipe(batch, featurize=lambda fc: seen.append(fc) or fc.clone(), generator=_gen())
    assert len(seen) == 1 and not torch.equal(seen[0], batch.fc)  # edge-drop ran first
    hidden = (out.x == 0).all(dim=1)
    assert hidden.any() and torch.equal(out.x * ~hidden.unsqueeze(1), out.x)


def test_view_specs():
    assert parse_view("Edge_Drop:p=0.3") == ("edge-drop", {"p": 0.3})
    assert parse_view({"name": "node-drop", "p": 0.2}) == ("node-drop", {"p": 0.2})
    with pytest.raises(ParameterError, match="valid views: .*edge-drop, edge-noise, fc-crop"):
        parse_view("mixup")
    with pytest.raises(ParameterError, match="has no parameter q; it takes p"):
        parse_view("edge-drop:q=1")
    with pytest.raises(ParameterError, match="not a number"):
        parse_view("edge-drop:p=lots")
    with pytest.raises(ParameterError, match=r"\[0, 1\)"):
        build_view("edge-drop:p=1.5")
    pipe = ViewPipeline(["fc-crop", "edge-drop:p=0.3"], fisher_z=True)
    assert pipe.specs() == [{"name": "fc-crop", "length": 0.5, "fisher_z": True},
                            {"name": "edge-drop", "p": 0.3}]
    assert pipe.needs_timeseries and not pipe.has_feature_views


# ---------------------------------------------------------------------------- objectives


def _z(seed: int, b: int = 3, d: int = 4) -> torch.Tensor:
    return torch.randn(b, d, generator=_gen(seed), dtype=torch.float64)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def _direct_ntxent(z1, z2, t):
    z = np.concatenate([z1.numpy(), z2.numpy()])
    n = len(z1)
    total = 0.0
    for i in range(2 * n):
        p = (i + n) % (2 * n)
        num = math.exp(_cos(z[i], z[p]) / t)
        den = sum(math.exp(_cos(z[i], z[k]) / t) for k in range(2 * n) if k != i)
        total += -math.log(num / den)
    return total / (2 * n)


def test_ntxent_on_three_pairs_matches_the_formula():
    z1, z2 = _z(0), _z(1)
    for t in (0.1, 0.5, 1.0):
        got = F.nt_xent(z1, z2, t)
        assert math.isclose(float(got), _direct_ntxent(z1, z2, t), rel_tol=1e-5)
        assert math.isclose(float(build_objective("ntxent", temperature=t)([z1, z2])),
                            _direct_ntxent(z1, z2, t), rel_tol=1e-5)


def test_dcl_on_three_pairs_matches_the_formula():
    z1, z2 = _z(2), _z(3)
    z = np.concatenate([z1.numpy(), z2.numpy()])
    t, n = 0.3, 3
    total = 0.0
    for i in range(2 * n):
        p = (i + n) % (2 * n)
        neg = sum(math.exp(_cos(z[i], z[k]) / t) for k in range(2 * n) if k not in (i, p))
        total += -_cos(z[i], z[p]) / t + math.log(neg)
    assert math.isclose(float(F.dcl(z1, z2, t)), total / (2 * n), rel_tol=1e-5)


def test_multiview_infonce_matches_the_formula_and_ntxent():
    z1, z2, z3 = _z(4), _z(5), _z(6)
    assert math.isclose(float(F.multiview_infonce([z1, z2], 0.4)),
                        float(F.nt_xent(z1, z2, 0.4)), rel_tol=1e-6)
    z = np.concatenate([z1.numpy(), z2.numpy(), z3.numpy()])
    t, n, v = 0.4, 3, 3
    total = 0.0
    for i in range(v * n):
        den = sum(math.exp(_cos(z[i], z[k]) / t) for k in range(v * n) if k != i)
        pos = [k for k in range(v * n) if k != i and k % n == i % n]
        total += -sum(math.log(math.exp(_cos(z[i], z[p]) / t) / den) for p in pos) / (v - 1)
    assert math.isclose(float(F.multiview_infonce([z1, z2, z3], t)), total / (v * n),
                        rel_tol=1e-5)


def test_vicreg_matches_the_formula():
    z1, z2 = _z(7, 5, 3), _z(8, 5, 3)
    a, b = z1.numpy(), z2.numpy()

    def var(x):
        return np.mean(np.maximum(0, 1 - np.sqrt(x.var(axis=0, ddof=1) + 1e-4)))

    def cov(x):
        c = np.cov(x.T)
        return (np.sum(c**2) - np.sum(np.diag(c) ** 2)) / x.shape[1]

    expect = 25 * np.mean((a - b) ** 2) + 25 * (var(a) + var(b)) / 2 + (cov(a) + cov(b))
    assert math.isclose(float(F.vicreg(z1, z2)), expect, rel_tol=1e-6)
    pairs = [F.vicreg(x, y) for x, y in itertools.combinations([z1, z2, _z(9, 5, 3)], 2)]
    assert math.isclose(float(build_objective("vicreg")([z1, z2, _z(9, 5, 3)])),
                        float(torch.stack(pairs).mean()), rel_tol=1e-6)


@pytest.mark.parametrize("name", ["ntxent", "dcl", "multiview-infonce"])
def test_hard_negative_mixing_adds_harder_negatives(name):
    z1, z2 = _z(10, 8, 5), _z(11, 8, 5)
    plain = build_objective(name, temperature=0.2)([z1, z2])
    zero = build_objective(name, temperature=0.2, hard_negatives=0)([z1, z2], _gen())
    mixed = build_objective(name, temperature=0.2, hard_negatives=4)([z1, z2], _gen())
    assert float(zero) == float(plain)
    assert float(mixed) > float(plain)  # extra terms in the denominator


def test_mixed_negatives_are_unit_norm_mixtures_of_hard_ones():
    z = torch.nn.functional.normalize(_z(12, 6, 4), dim=1)
    sim = z @ z.T
    neg = ~torch.eye(6, dtype=torch.bool)
    logits = F.mixed_hard_negatives(z, sim, neg, 3, pool=2, generator=_gen())
    assert logits.shape == (6, 6)
    assert (logits.abs() <= 1 + 1e-9).all()


@pytest.mark.parametrize("name", TESTED_OBJECTIVES)
def test_objective_gradients_flow(name):
    views = [_z(13, 6, 5).requires_grad_(), _z(14, 6, 5).requires_grad_()]
    obj = build_objective(name)
    loss = obj(views, _gen())
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert all(v.grad is not None and v.grad.abs().sum() > 0 for v in views)
    identical = obj([views[0].detach(), views[0].detach()], _gen())
    assert float(identical) < float(loss.detach())  # agreeing views cost less


def test_objective_errors():
    with pytest.raises(ParameterError, match="valid objectives: .*dcl, .*multiview-infonce"):
        build_objective("barlow")
    with pytest.raises(ParameterError, match="has no parameter temperature"):
        build_objective("vicreg", temperature=0.1)
    with pytest.raises(ParameterError, match="takes 2 views"):
        build_objective("ntxent")([_z(0), _z(1), _z(2)])
    with pytest.raises(ParameterError, match="temperature must be > 0"):
        build_objective("dcl", temperature=0)
    assert build_objective("InfoNCE").params() == {"temperature": 0.2, "hard_negatives": 0,
                                                   "hard_pool": 16}
