"""Regenerate every performance and quality table of the README on this machine.

Runs each benchmark script in turn (a subprocess each, so one failure does not stop the
others) and prints their markdown tables under one heading per benchmark.

Usage:
    NEUROCL_TEST_DATA=../shared/data python benchmarks/run.py            # everything
    NEUROCL_TEST_DATA=../shared/data python benchmarks/run.py --quick    # smaller inputs
    python benchmarks/run.py --only fc,pretrain                          # a subset
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _data() -> str:
    value = os.environ.get("NEUROCL_TEST_DATA")
    if value:
        return value
    guess = HERE.parent.parent / "shared" / "data"
    return str(guess) if guess.is_dir() else ""


def benchmarks(quick: bool) -> dict[str, tuple[str, list[str]]]:
    """Name -> (title, command) of every benchmark."""
    data = _data()
    q = ["--quick"] if quick else []
    return {
        "fc": ("FC engine vs nilearn ConnectivityMeasure",
               ["bench_fc.py", *q]),
        "eeg": ("EEG connectivity vs mne-connectivity",
                ["bench_eeg_connectivity.py", *(["--ref-epochs", "5"] if quick else [])]),
        "extraction": ("ROI extraction from 4D images vs NiftiLabelsMasker",
                       ["bench_extraction.py", data, "--subjects", "5" if quick else "20"]),
        "pretrain": ("Pretraining throughput: dense batched vs PyG sparse",
                     ["bench_pretrain_throughput.py", *(["--steps", "2"] if quick else [])]),
        "scale": ("Peak memory at scale",
                  ["bench_scale.py", "--subjects", "2000" if quick else "20000"]),
        "quality": ("Probe quality of each objective vs baselines (development fMRI)",
                    ["bench_quality.py", *(["--epochs", "5", "--repeats", "1"] if quick else [])]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs (minutes)")
    parser.add_argument("--only", default=None, help="comma-separated subset of benchmarks")
    args = parser.parse_args()
    table = benchmarks(args.quick)
    names = list(table) if args.only is None else [n.strip() for n in args.only.split(",")]
    unknown = [n for n in names if n not in table]
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {', '.join(table)}")
    env = dict(os.environ, NEUROCL_TEST_DATA=_data())
    for name in names:
        title, cmd = table[name]
        print(f"\n## {title}\n", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:]], env=env,
                              capture_output=True, text=True)
        print(proc.stdout.strip())
        if proc.returncode != 0:
            print(f"\n`{name}` failed (exit {proc.returncode}): "
                  f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}")
        print(f"\n_{name}: {time.perf_counter() - start:.0f} s_", flush=True)


if __name__ == "__main__":
    main()
