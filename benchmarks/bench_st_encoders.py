"""Throughput of the spatio-temporal and dual-branch encoders (samples per second).

Usage: python benchmarks/bench_st_encoders.py [--batch 16] [--repeats 3] [--threads 2]

Times one training step (forward, masked loss, backward) and one inference forward pass of

- ``st-gnn`` on dynamic FC of the development-data shape (28 windows of 116 x 116: AAL-116,
  window 30, stride 5), with ``masked-dfc``;
- ``cnn-transformer`` on EEG-epoch-shaped signals (640 samples x 64 channels: 4 s at 160 Hz)
  and on ROI time series (168 x 116), with ``masked-signal``;

on the CPU and, when present, on CUDA (bf16 autocast). Inputs are random: the cost does not
depend on the values. Prints a markdown table (best of ``--repeats``).
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import time

import torch

from neurocl.models import build_encoder
from neurocl.ssl.objectives import build_objective

CASES = [
    ("st-gnn", "masked-dfc", (28, 116, 116), {"hidden": 64, "layers": 2}),
    ("cnn-transformer", "masked-signal", (640, 64), {"hidden": 64, "layers": 2}),
    ("cnn-transformer", "masked-signal", (168, 116), {"hidden": 64, "layers": 2}),
]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(name: str, objective: str, shape: tuple[int, ...], params: dict, batch: int,
          device: torch.device, repeats: int) -> tuple[float, float]:
    """Return (training samples/s, inference samples/s), best of ``repeats``."""
    torch.manual_seed(0)
    n = shape[-1]
    enc = build_encoder(name, n, **params).to(device)
    obj = build_objective(objective)
    dec = obj.build_modules(enc, 64).to(device)
    x = torch.rand(batch, *shape, device=device)
    if name == "st-gnn":
        x = (x + x.mT) / 2
    opt = torch.optim.AdamW([*enc.parameters(), *dec.parameters()], lr=1e-3)
    amp = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
           else contextlib.nullcontext())
    train, infer = [], []
    for _ in range(repeats + 1):  # the first round warms up
        _sync(device)
        start = time.perf_counter()
        with amp:
            loss = obj.loss(enc, dec, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        _sync(device)
        train.append(batch / (time.perf_counter() - start))
        start = time.perf_counter()
        with torch.no_grad(), amp:
            enc(x)
        _sync(device)
        infer.append(batch / (time.perf_counter() - start))
    return max(train[1:]), max(infer[1:])


def main() -> None:
    """Run every case on every device and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available()
                                       else [])
    print(f"\nbatch {args.batch}, best of {args.repeats}; CPU {platform.machine()} with "
          f"{args.threads} threads; torch {torch.__version__}\n")
    print("| encoder | objective | input (per sample) | device | train samples/s | "
          "embed samples/s |")
    print("|---|---|---|---|---|---|")
    for device in devices:
        for name, objective, shape, params in CASES:
            tr, inf = bench(name, objective, shape, params, args.batch, device, args.repeats)
            print(f"| {name} | {objective} | {' x '.join(map(str, shape))} | {device.type} | "
                  f"{tr:.1f} | {inf:.1f} |")


if __name__ == "__main__":
    main()
