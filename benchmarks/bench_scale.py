"""Peak anonymous memory of build-fc (and pretrain) on a simulated dataset larger than RAM budgets.

Simulates S subjects x T frames x N nodes as a memory-mapped .npy stack (written in chunks),
runs ``neurocl build-fc fmri`` on it and, when available, one epoch of ``neurocl pretrain``,
each in a subprocess whose RssAnon (anonymous resident memory: pages of memory-mapped files
do not count) is sampled every 50 ms. Prints a markdown table.

Usage: python benchmarks/bench_scale.py [--subjects 20000] [--nodes 200] [--frames 120]
       [--workdir DIR] [--skip-pretrain] [--reuse-dataset DIR]

``--reuse-dataset`` skips the simulation and build-fc steps and pretrains on an existing
dataset (e.g. the ``big.ds`` of an earlier run with ``--workdir``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def rss_anon_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def run_monitored(cmd: list[str]) -> tuple[float, float, int, str]:
    """Run ``cmd``; return wall seconds, peak RssAnon in MB, exit code, stderr tail."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def watch() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], rss_anon_kb(proc.pid))
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    _, err = proc.communicate()
    thread.join()
    return time.perf_counter() - start, peak[0] / 1024, proc.returncode, err[-400:]


def simulate(path: Path, n_subjects: int, n_frames: int, n_nodes: int, chunk: int = 500) -> None:
    rng = np.random.default_rng(0)
    mix = rng.standard_normal((n_nodes, n_nodes)).astype(np.float32) / np.sqrt(n_nodes)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                    shape=(n_subjects, n_frames, n_nodes))
    for start in range(0, n_subjects, chunk):
        stop = min(start + chunk, n_subjects)
        x = rng.standard_normal((stop - start, n_frames, n_nodes), dtype=np.float32)
        out[start:stop] = x + 0.5 * (x @ mix)
    out.flush()
    del out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=20000)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-pretrain", action="store_true")
    parser.add_argument("--reuse-dataset", type=Path, default=None,
                        help="pretrain on this existing dataset; skip simulation and build-fc")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="neurocl-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    neurocl = [sys.executable, "-m", "neurocl"]
    rows = []
    rc = 0
    if args.reuse_dataset is not None:
        ds = args.reuse_dataset
        stack = Path(json.loads((ds / "meta.json").read_text())["sources"][0])
        t_sim = float("nan")
    else:
        stack = work / "simulated.npy"
        t0 = time.perf_counter()
        simulate(stack, args.subjects, args.frames, args.nodes)
        t_sim = time.perf_counter() - t0
        ds = work / "big.ds"
        shutil.rmtree(ds, ignore_errors=True)
        wall, peak, rc, err = run_monitored(
            [*neurocl, "build-fc", "fmri", str(stack), "--input-type", "timeseries",
             "--kind", "correlation", "--fisher-z", "--out", str(ds)])
        rows.append(("build-fc (correlation, Fisher z)", wall, peak, rc, err))
    if not args.skip_pretrain and rc == 0:
        wall, peak, rc2, err = run_monitored(
            [*neurocl, "pretrain", str(ds), "--encoder", "gin", "--objective", "ntxent",
             "--augment", "edge-drop,feature-mask", "--epochs", "1", "--batch-size", "64",
             "--device", "cpu", "--overwrite", "--out", str(work / "run")])
        rows.append(("pretrain (GIN, NT-Xent, 1 epoch)", wall, peak, rc2, err))
    size_in = stack.stat().st_size / 2**30 if stack.exists() else float("nan")
    size_out = sum(p.stat().st_size for p in ds.rglob("*") if p.is_file()) / 2**30 \
        if ds.exists() else 0.0
    ts_file = ds / "timeseries.npy"
    shape = (np.load(ts_file, mmap_mode="r", allow_pickle=False).shape if ts_file.exists()
             else (args.subjects, args.frames, args.nodes))
    made = "reused" if args.reuse_dataset is not None else f"simulated in {t_sim:.0f} s"
    print(f"\n{shape[0]} subjects x {shape[1]} frames x {shape[2]} nodes; input "
          f"{size_in:.2f} GiB ({made}), dataset {size_out:.2f} GiB on disk\n")
    print("| step | wall time (s) | peak RssAnon (MB) | exit |")
    print("|---|---:|---:|---:|")
    for name, wall, peak, code, _ in rows:
        print(f"| {name} | {wall:.1f} | {peak:.0f} | {code} |")
    for name, _, _, code, err in rows:
        if code != 0:
            print(f"\n{name} failed: {err}")
    if args.workdir is None and args.reuse_dataset is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
