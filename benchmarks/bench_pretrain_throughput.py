"""Pretraining throughput: dense batched GIN vs PyG's sparse DataLoader + GINConv.

The same 3-layer GIN (hidden 64, LayerNorm, mean readout, projection head) trained with the
same NT-Xent loss on batches of 64 subjects x 2 views = 128 graphs of 116 nodes with FC-row
node features, on (a) full weighted graphs and (b) the top 10 % edges of each subject.

- ours: ``neurocl.models.GINEncoder`` on dense (batch, 116, 116) tensors, the sparsification
  done on the fly inside each step;
- reference: PyG ``GINConv`` layers on ``Data`` graphs built once, batched each step by
  ``torch_geometric.loader.DataLoader`` (the favourable case for the reference: no per-step
  graph construction). ``GINConv`` sums neighbours without weights; the work per edge is the
  same.
- ours + fc-crop: the dense path with both views recomputed each step from random 84-TR
  segments of the signals (what ``neurocl pretrain`` does).

Graphs/s counts graphs encoded per second of training (forward, backward, AdamW step).
Timings alternate between the paths and report the median of the repeats. On CUDA the script
also reports the share of wall time the GPU spends in kernels (torch.profiler).

Data: the 115 AAL-116 time series of the development study when ``NEUROCL_TEST_DATA`` is set,
random signals otherwise. Run::

    NEUROCL_TEST_DATA=../shared/data python benchmarks/bench_pretrain_throughput.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neurocl.models import GINEncoder, ProjectionHead
from neurocl.ssl.objectives.functional import nt_xent
from neurocl.ssl.views.functional import crop_starts, pearson, segment

BATCH, HIDDEN, LAYERS, N_NODES = 64, 64, 3, 116


def load_signals() -> tuple[np.ndarray, str]:
    root = os.environ.get("NEUROCL_TEST_DATA")
    if root:
        file = Path(root) / "development_fmri" / "timeseries_aal116.npz"
        if file.is_file():
            ts = np.load(file, allow_pickle=False)["timeseries"].astype(np.float32)
            return ts, "development AAL-116 (115 x 168 x 116)"
    rng = np.random.default_rng(0)
    return rng.standard_normal((115, 168, N_NODES)).astype(np.float32), "random signals"


class SparseGIN(nn.Module):
    """The reference: PyG GINConv layers with LayerNorm, mean pooling and a linear map."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        from torch_geometric.nn import GINConv

        dims = [in_dim] + [HIDDEN] * LAYERS
        self.convs = nn.ModuleList(
            GINConv(nn.Sequential(nn.Linear(dims[i], HIDDEN), nn.ReLU(),
                                  nn.Linear(HIDDEN, HIDDEN)), train_eps=True)
            for i in range(LAYERS)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(HIDDEN) for _ in range(LAYERS))
        self.out = nn.Linear(HIDDEN, HIDDEN)
        self.head = ProjectionHead(HIDDEN, HIDDEN, HIDDEN)

    def forward(self, data) -> torch.Tensor:  # type: ignore[no-untyped-def]
        from torch_geometric.nn import global_mean_pool

        h = data.x
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = torch.relu(norm(conv(h, data.edge_index)))
        return self.head(self.out(global_mean_pool(h, data.batch)))


class DenseGIN(nn.Module):
    def __init__(self, sparsify: str) -> None:
        super().__init__()
        self.encoder = GINEncoder(N_NODES, hidden=HIDDEN, layers=LAYERS, readout="mean",
                                  sparsify=sparsify)
        self.head = ProjectionHead(HIDDEN, HIDDEN, HIDDEN)

    def forward(self, fc: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(fc).graph)


def make_views(ts: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Two fc-crop views (84 TRs) of each subject: (2 * batch, n, n)."""
    lengths = torch.full((len(ts),), ts.shape[1], device=ts.device)
    views = [pearson(segment(ts, crop_starts(lengths, 84, gen), 84)) for _ in range(2)]
    return torch.cat(views)


def to_graphs(fc: np.ndarray, sparsify: str) -> list:
    from torch_geometric.data import Data

    from neurocl.data.graphs import Sparsify

    adj = Sparsify.parse(sparsify)(torch.as_tensor(fc))
    out = []
    for i in range(len(fc)):
        ei = adj[i].nonzero().t().contiguous()
        out.append(Data(x=torch.as_tensor(fc[i]), edge_index=ei, edge_attr=adj[i][ei[0], ei[1]]))
    return out


def step(model: nn.Module, opt: torch.optim.Optimizer, inputs, device) -> None:  # type: ignore[no-untyped-def]
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else None
    if amp is not None:
        with amp:
            z = model(inputs)
    else:
        z = model(inputs)
    z1, z2 = z.float().chunk(2)
    loss = nt_xent(z1, z2, 0.2)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(run_steps, device: torch.device, steps: int) -> float:  # type: ignore[no-untyped-def]
    sync(device)
    start = time.perf_counter()
    run_steps(steps)
    sync(device)
    return 2 * BATCH * steps / (time.perf_counter() - start)


def kernel_share(run_steps, device: torch.device, steps: int) -> float:  # type: ignore[no-untyped-def]
    from torch.profiler import ProfilerActivity, profile

    sync(device)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        start = time.perf_counter()
        run_steps(steps)
        sync(device)
        wall = time.perf_counter() - start
    kernel_us = sum(e.self_device_time_total for e in prof.key_averages()
                    if e.device_type == torch.autograd.DeviceType.CUDA)
    return kernel_us / 1e6 / wall


def bench(device: torch.device, sparsify: str, ts_all: np.ndarray, steps: int,
          repeats: int) -> dict[str, tuple[float, float | None]]:
    from torch_geometric.loader import DataLoader

    torch.manual_seed(0)
    gen = torch.Generator(device=device).manual_seed(0)
    ts = torch.as_tensor(ts_all[:BATCH], device=device)
    fc_views = make_views(ts, gen)  # the same 128 graphs for every path
    graphs = to_graphs(fc_views.cpu().numpy(), sparsify)
    dense, sparse = DenseGIN(sparsify).to(device), SparseGIN(N_NODES).to(device)
    opt_d = torch.optim.AdamW(dense.parameters(), 1e-3)
    opt_s = torch.optim.AdamW(sparse.parameters(), 1e-3)
    loader = DataLoader(graphs, batch_size=2 * BATCH, shuffle=False)

    def run_dense(n: int) -> None:
        for _ in range(n):
            step(dense, opt_d, fc_views, device)

    def run_crop(n: int) -> None:
        for _ in range(n):
            step(dense, opt_d, make_views(ts, gen), device)

    def run_sparse(n: int) -> None:
        for _ in range(n):
            for batch in loader:
                step(sparse, opt_s, batch.to(device, non_blocking=True), device)

    paths = {"ours (dense)": run_dense, "ours + fc-crop on the fly": run_crop,
             "PyG sparse DataLoader + GINConv": run_sparse}
    for fn in paths.values():
        fn(2)  # warm-up
    rates: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(repeats):
        for name, fn in paths.items():
            rates[name].append(measure(fn, device, steps))
    share = {name: (kernel_share(fn, device, steps) if device.type == "cuda" else None)
             for name, fn in paths.items()}
    return {name: (statistics.median(r), share[name]) for name, r in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="training steps per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per path")
    parser.add_argument("--device", default="all", help="cpu, cuda or all (cuda when present)")
    args = parser.parse_args()
    ts, source = load_signals()
    devices = [torch.device("cpu")]
    if args.device in ("all", "cuda") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    if args.device == "cpu":
        devices = [torch.device("cpu")]
    if args.device == "cuda":
        devices = [torch.device("cuda")]
    print(f"data: {source}; GIN {LAYERS} layers, hidden {HIDDEN}, batch {BATCH} subjects x 2 "
          f"views; torch {torch.__version__}, {torch.get_num_threads()} CPU threads\n")
    print("| device | graphs | path | graphs/s | ratio vs PyG | GPU kernel time share |")
    print("|---|---|---|---|---|---|")
    for device in devices:
        for label, sparsify in (("full weighted", "none"), ("top-10 % edges", "topk:0.1")):
            res = bench(device, sparsify, ts, args.steps, args.repeats)
            ref = res["PyG sparse DataLoader + GINConv"][0]
            for name, (rate, share) in res.items():
                share_text = "-" if share is None else f"{100 * share:.0f} %"
                print(f"| {device.type} | {label} | {name} | {rate:.0f} | {rate / ref:.2f}x | "
                      f"{share_text} |", flush=True)


if __name__ == "__main__":
    main()
