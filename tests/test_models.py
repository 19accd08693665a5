"""Encoders, readouts, sparsification, node features, dense batching and to_pyg."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from neurocl._core.errors import ParameterError
from neurocl.data.dataset import write_dataset
from neurocl.data.graphs import NODE_FEATURES, SPARSIFIERS, Sparsify
from neurocl.data.loader import DenseLoader
from neurocl.models import ENCODERS, READOUTS, ProjectionHead, build_encoder

B, N, H = 3, 7, 8
TESTED_ENCODERS = ["brainnetcnn", "gat", "gcn", "gin", "sage", "transformer"]
TESTED_READOUTS = ["flatten", "max", "mean", "node-weights", "sum"]
TESTED_SPARSIFIERS = ["knn", "none", "threshold", "topk"]
TESTED_FEATURES = ["degree", "fc-row", "identity"]


def _fc(batch: int = B, n: int = N, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3 * n, n, generator=g)
    x = x - x.mean(1, keepdim=True)
    cov = x.mT @ x
    d = cov.diagonal(dim1=-2, dim2=-1).sqrt()
    return cov / d.unsqueeze(-1) / d.unsqueeze(-2)


def test_every_registered_component_is_tested():
    # encoders of signals / dynamic FC are covered by their own test module
    fc_encoders = {n for n in ENCODERS.names()
                   if tuple(getattr(ENCODERS.get(n), "inputs", ("fc",))) == ("fc",)}
    assert set(TESTED_ENCODERS) == fc_encoders
    assert set(TESTED_READOUTS) == set(READOUTS.names())
    assert set(TESTED_SPARSIFIERS) == set(SPARSIFIERS.names())
    assert set(TESTED_FEATURES) == set(NODE_FEATURES.names())


@pytest.mark.parametrize("name", TESTED_ENCODERS)
def test_encoder_shapes_and_gradients(name):
    torch.manual_seed(0)
    enc = build_encoder(name, N, hidden=H, layers=2, out_dim=5, sparsify="topk:0.5")
    out = enc(_fc())
    assert out.graph.shape == (B, 5)
    assert out.nodes.shape == (B, N, H)
    assert enc.embedding_dim == 5
    out.graph.square().sum().backward()
    params = [(n, p) for n, p in enc.named_parameters() if p.requires_grad]
    missing = [n for n, p in params if p.grad is None]
    assert not missing, missing
    assert sum(bool(p.grad.abs().sum() > 0) for _, p in params) >= 0.8 * len(params)


@pytest.mark.parametrize("name", TESTED_ENCODERS)
def test_encoder_node_mask_zeroes_dropped_nodes(name):
    torch.manual_seed(1)
    enc = build_encoder(name, N, hidden=H, layers=2, sparsify="none").eval()
    mask = torch.ones(B, N, dtype=torch.bool)
    mask[:, 2] = False
    out = enc(_fc(), node_mask=mask)
    assert torch.all(out.nodes[:, 2] == 0)
    assert torch.isfinite(out.graph).all()


@pytest.mark.parametrize("name", TESTED_ENCODERS)
def test_encoder_is_batch_independent_with_layernorm(name):
    torch.manual_seed(2)
    enc = build_encoder(name, N, hidden=H, layers=2).eval()
    fc = _fc(4)
    with torch.no_grad():
        whole = enc(fc).graph
        alone = torch.cat([enc(fc[i : i + 1]).graph for i in range(4)])
    torch.testing.assert_close(whole, alone, rtol=1e-4, atol=1e-5)


def test_encoder_rejects_wrong_node_count():
    enc = build_encoder("gin", N, hidden=H, layers=1)
    with pytest.raises(ParameterError, match="built for 7 nodes"):
        enc(_fc(n=6))


def test_unknown_encoder_lists_valid_names():
    with pytest.raises(ParameterError, match="valid encoders: brainnetcnn, .*gat, gcn, gin"):
        build_encoder("resnet", N)


def test_brainnetcnn_refuses_node_features():
    with pytest.raises(ParameterError, match="node-features"):
        build_encoder("brainnetcnn", N, node_features="identity")


@pytest.mark.parametrize("heads", [3, 0])
def test_attention_heads_must_divide_hidden(heads):
    for name in ("gat", "transformer"):
        with pytest.raises(ParameterError, match="divisible"):
            build_encoder(name, N, hidden=H, heads=heads)


def test_gcn_matches_hand_computed_propagation():
    torch.manual_seed(3)
    enc = build_encoder("gcn", N, hidden=H, layers=1, sparsify="none", norm="none",
                        node_features="identity")
    fc = _fc(1).abs()
    conv = enc.convs[0]
    a = fc[0].clone()
    a.fill_diagonal_(1.0)
    d = a.sum(1).clamp(min=1).pow(-0.5)
    expected = torch.relu(d[:, None] * a * d[None, :] @ conv.lin.weight.T + conv.bias)
    torch.testing.assert_close(enc(fc).nodes[0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", TESTED_READOUTS)
def test_readouts(name):
    torch.manual_seed(4)
    readout = READOUTS.get(name)(N, H, 5)
    if name == "node-weights":  # starts as mean pooling; learned weights tell nodes apart
        with torch.no_grad():
            readout.weight.normal_()
    nodes = torch.randn(B, N, H, requires_grad=True)
    out = readout(nodes)
    assert out.shape == (B, 5)
    out.sum().backward()
    assert nodes.grad is not None
    perm = torch.randperm(N)
    permuted = readout(nodes[:, perm])
    keeps_identity = not torch.allclose(out, permuted, atol=1e-5)
    assert keeps_identity == (name in ("flatten", "node-weights"))


def test_projection_head_shape():
    assert ProjectionHead(5, 7, 3)(torch.randn(4, 5)).shape == (4, 3)


def test_topk_keeps_requested_density():
    fc = _fc(2, 10)
    adj = Sparsify.parse("topk:0.2")(fc)
    n_edges = (adj.triu(1) != 0).sum((1, 2))
    assert n_edges.tolist() == [9, 9]  # round(0.2 * 45)
    assert torch.equal(adj, adj.mT)
    upper = fc.triu(1)
    for b in range(2):
        kept = adj[b][adj[b] != 0]
        assert kept.min() >= upper[b][(adj[b] == 0).triu(1)].max()
    assert torch.all(adj.diagonal(dim1=-2, dim2=-1) == 0)


def test_knn_threshold_none():
    fc = _fc(2, 10)
    before = fc.clone()
    knn = Sparsify.parse("knn:3")(fc)
    assert torch.equal(knn, knn.mT)
    assert ((knn != 0).sum(-1) >= 3).all()
    for b in range(2):
        for i in range(10):
            row = fc[b, i].clone()
            row[i] = -np.inf
            kept = set(knn[b, i].nonzero().flatten().tolist())
            assert set(torch.topk(row, 3).indices.tolist()) <= kept
    thr = Sparsify.parse("threshold:0.1")(fc)
    off = ~torch.eye(10, dtype=torch.bool)
    assert torch.equal(thr != 0, (fc >= 0.1) & off)
    none = Sparsify.parse("none")(fc)
    torch.testing.assert_close(none, fc * off)
    assert torch.equal(fc, before)  # input left alone


@pytest.mark.parametrize("spec", ["topk:1.5", "knn:2.5", "foo", "topk:abc", "none:3"])
def test_bad_sparsify_specs(spec):
    with pytest.raises(ParameterError):
        Sparsify.parse(spec)


@pytest.mark.parametrize("name", TESTED_FEATURES)
def test_node_features(name):
    fc = _fc(2, 6)
    adj = Sparsify.parse("topk:0.4")(fc)
    x = NODE_FEATURES.get(name)(fc, adj)
    if name == "fc-row":
        torch.testing.assert_close(x, fc)
    elif name == "identity":
        assert torch.equal(x[1], torch.eye(6))
    else:
        assert x.shape == (2, 6, 2)
        torch.testing.assert_close(x[..., 0], (adj != 0).float().sum(-1) / 5)
        torch.testing.assert_close(x[..., 1], adj.sum(-1) / 5)


def _dataset(tmp_path, lengths=None):
    rng = np.random.default_rng(0)
    s, n = 9, 5
    fc = np.stack([np.corrcoef(rng.standard_normal((n, 30))) for _ in range(s)])
    ts = [rng.standard_normal((t, n)).astype(np.float32) for t in (lengths or [20] * s)]
    subjects = pd.DataFrame({"sample_id": [f"s{i}" for i in range(s)],
                             "subject_id": [f"s{i}" for i in range(s)],
                             "age": np.arange(s, dtype=float)})
    nodes = pd.DataFrame({"name": [f"r{i}" for i in range(n)], "network": ["A"] * n})
    return write_dataset(tmp_path / "ds", fc=fc, subjects=subjects, nodes=nodes,
                         meta={"kind": "correlation", "atlas": "toy"},
                         timeseries=ts if lengths else np.stack(ts))


def test_dense_loader_covers_every_sample(tmp_path):
    ds = _dataset(tmp_path)
    loader = DenseLoader(ds.fc, ds.timeseries, batch_size=4, shuffle=True,
                         generator=torch.Generator().manual_seed(0))
    seen = []
    for batch in loader:
        seen += batch.index.tolist()
        np.testing.assert_allclose(batch.fc.numpy(), ds.fc[batch.index.numpy()], rtol=1e-6)
        np.testing.assert_array_equal(batch.timeseries.numpy(), ds.timeseries[batch.index.numpy()])
        assert batch.lengths.tolist() == [20] * len(batch)
    assert sorted(seen) == list(range(9)) and len(loader) == 3
    assert len(DenseLoader(ds.fc, batch_size=4, min_batch=2)) == 2


def test_dense_loader_pads_runs_of_different_lengths(tmp_path):
    lengths = [20, 25, 22, 30, 21, 20, 26, 27, 23]
    ds = _dataset(tmp_path, lengths)
    batch = DenseLoader(ds.fc, ds.timeseries, batch_size=9).load(np.array([3, 0]))
    assert batch.timeseries.shape == (2, 30, 5)
    assert batch.lengths.tolist() == [30, 20]
    np.testing.assert_array_equal(batch.timeseries[1, :20].numpy(), ds.timeseries[0])
    assert torch.all(batch.timeseries[1, 20:] == 0)


def test_to_pyg_matches_dense_gin(tmp_path):
    from torch_geometric.loader import DataLoader
    from torch_geometric.nn import DenseGINConv, GINConv
    from torch_geometric.utils import to_dense_adj

    import neurocl.data

    ds = _dataset(tmp_path)
    graphs = neurocl.data.to_pyg(ds, sparsify="topk:0.5", label="age")
    assert len(graphs) == 9 and graphs[2].sample_id == "s2" and float(graphs[2].y) == 2.0
    adj = Sparsify.parse("topk:0.5")(torch.as_tensor(np.asarray(ds.fc), dtype=torch.float32))
    assert graphs[0].edge_index.shape[1] == int((adj[0] != 0).sum())
    torch.testing.assert_close(graphs[0].x, torch.as_tensor(ds.fc[0], dtype=torch.float32))
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4))
    sparse, dense = GINConv(mlp, train_eps=True), DenseGINConv(mlp, train_eps=True)
    batch = next(iter(DataLoader(graphs, batch_size=9)))
    dense_adj = to_dense_adj(batch.edge_index, batch.batch, batch.edge_attr)
    torch.testing.assert_close(dense_adj, adj)
    # GINConv sums neighbours unweighted: compare with the dense layer on the binary graph
    out_sparse = sparse(batch.x, batch.edge_index).view(9, 5, 4)
    torch.testing.assert_close(out_sparse, dense(batch.x.view(9, 5, 5), (adj != 0).float()))
