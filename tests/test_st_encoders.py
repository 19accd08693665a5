"""Spatio-temporal and dual-branch encoders: registry coverage, shapes, gradients, masks."""

from __future__ import annotations

import pytest
import torch

from neurocl._core.errors import ParameterError
from neurocl.models import ENCODERS, build_encoder

#: encoders that read something other than static FC, each tested here
TESTED_ENCODERS = ["cnn-transformer", "st-gnn"]
B, W, N = 3, 5, 7  # batch, windows, nodes
T, C = 37, 6  # time points, channels
SMALL = {"hidden": 16, "layers": 1, "heads": 2}



@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors run faster on one thread, and do not fight over a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

def _input(name: str, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if name == "st-gnn":
        x = torch.rand(B, W, N, N, generator=g)
        return (x + x.mT) / 2
    return torch.randn(B, T, C, generator=g)


def _build(name: str, **params):
    torch.manual_seed(0)
    n = N if name == "st-gnn" else C
    extra = {"patch": 4} if name == "cnn-transformer" else {}
    return build_encoder(name, n, **{**SMALL, **extra, **params})


def test_every_sequence_encoder_is_tested():
    registered = {n for n in ENCODERS.names()
                  if tuple(getattr(ENCODERS.get(n), "inputs", ("fc",))) != ("fc",)}
    assert set(TESTED_ENCODERS) == registered


@pytest.mark.parametrize("name", TESTED_ENCODERS)
def test_shapes_and_gradients(name):
    enc = _build(name, out_dim=10)
    x = _input(name)
    out = enc(x)
    assert out.graph.shape == (B, 10) and enc.embedding_dim == 10
    if name == "st-gnn":
        assert out.nodes.shape == (B, N, 16)
        assert out.windows.shape == (B, W, 16) and out.window_nodes.shape == (B, W, N, 16)
    else:
        assert out.nodes.shape == (B, C, 8)
        assert out.cnn.shape == out.transformer.shape == (B, 16)
        assert out.patches.shape == (B, T // 4, 16)
    sum(t.square().sum() for t in out).backward()
    unused = {"mask_token"}  # only used when something is masked
    missing = [n for n, p in enc.named_parameters() if p.grad is None and n not in unused]
    assert not missing


@pytest.mark.parametrize("name", TESTED_ENCODERS)
def test_embedding_does_not_depend_on_the_batch(name):
    enc = _build(name).eval()
    x = _input(name)
    with torch.no_grad():
        together = enc(x).graph
        alone = torch.cat([enc(x[i : i + 1]).graph for i in range(B)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", TESTED_ENCODERS)
def test_input_is_not_modified(name):
    enc = _build(name)
    x = _input(name)
    before = x.clone()
    enc(x)
    assert torch.equal(x, before)


def test_st_gnn_is_order_aware_and_masks_windows():
    enc = _build("st-gnn").eval()
    x = _input("st-gnn")
    with torch.no_grad():
        base = enc(x).graph
        flipped = enc(x.flip(1)).graph
        keep = torch.ones(B, W, dtype=torch.bool)
        keep[:, 2] = False
        masked = enc(x, window_mask=keep)
        changed = x.clone()
        changed[:, 2] = torch.rand(N, N)
        masked_changed = enc(changed, window_mask=keep)
    assert not torch.allclose(base, flipped)  # positions matter
    # what a masked window holds cannot reach the output
    torch.testing.assert_close(masked.graph, masked_changed.graph)
    torch.testing.assert_close(masked.windows, masked_changed.windows)


@pytest.mark.parametrize("gnn", ["gcn", "brainnetcnn", "transformer"])
def test_st_gnn_takes_any_graph_encoder(gnn):
    enc = _build("st-gnn", gnn=gnn)
    assert enc(_input("st-gnn")).graph.shape == (B, 16)


def test_cnn_transformer_masked_patches_do_not_leak():
    enc = _build("cnn-transformer").eval()
    enc.normalize = lambda x: x  # standardisation uses the whole signal; test the masking
    x = _input("cnn-transformer")
    keep = torch.ones(B, T // 4, dtype=torch.bool)
    keep[:, 3:5] = False  # samples 12-19
    y = x.clone()
    y[:, 12:20] = torch.randn(8, C) * 100
    with torch.no_grad():
        a, b = enc(x, patch_mask=keep), enc(y, patch_mask=keep)
        assert not torch.allclose(enc(x).graph, enc(y).graph)
    for u, v in zip(a, b, strict=True):
        torch.testing.assert_close(u, v)


def test_cnn_transformer_is_scale_invariant_and_fuses_with_a_gate():
    enc = _build("cnn-transformer", fusion="gate").eval()
    x = _input("cnn-transformer")
    with torch.no_grad():
        torch.testing.assert_close(enc(x).graph, enc(x * 1e-5).graph, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("cnn-transformer", {"sparsify": "knn:3"}, "drop --sparsify"),
        ("cnn-transformer", {"hidden": 10, "heads": 3}, "divisible"),
        ("cnn-transformer", {"fusion": "sum"}, "fusion must be one of"),
        ("st-gnn", {"gnn": "cnn-transformer"}, "graph encoder of static FC"),
        ("st-gnn", {"gnn": "nope"}, "valid encoders"),
    ],
)
def test_bad_parameters(name, params, match):
    with pytest.raises(ParameterError, match=match):
        _build(name, **params)


def test_wrong_input_shapes_are_named():
    with pytest.raises(ParameterError, match="dynamic FC of shape"):
        _build("st-gnn")(torch.rand(B, N, N))
    with pytest.raises(ParameterError, match="6 channels"):
        _build("cnn-transformer")(torch.randn(B, T, C + 1))
    with pytest.raises(ParameterError, match="fewer than one patch"):
        _build("cnn-transformer")(torch.randn(B, 3, C))
