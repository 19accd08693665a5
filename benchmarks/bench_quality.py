"""Probe quality of each self-supervised objective against the baselines, same folds.

Builds the development fMRI dataset (115 subjects, AAL-116, static and dynamic FC), pretrains
one encoder per objective, and probes child vs adult with `neurocl probe` (linear probe,
stratified grouped 5-fold x R): raw FC, tangent, untrained and chance rows come with every
encoder, and the paired Nadeau-Bengio test says whether the encoder beats raw FC.

Usage: NEUROCL_TEST_DATA=../shared/data python benchmarks/bench_quality.py [--epochs 50]
       [--repeats 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from neurocl import api

CONFIGS = {
    "gin + ntxent (fc-crop)": dict(encoder="gin", objective="ntxent", augment="fc-crop"),
    "gin + masked-graph": dict(encoder="gin", objective="masked-graph", augment=None),
    "st-gnn + masked-dfc": dict(encoder="st-gnn", objective="masked-dfc", augment=None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    data = Path(os.environ.get("NEUROCL_TEST_DATA", "../shared/data"))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="neurocl-quality-"))
    ds = api.build_fc_fmri(
        [data / "development_fmri" / "timeseries_aal116.npz"], work / "dev.ds",
        networks=data / "atlases" / "network_maps" / "aal116_spm12_to_yeo7.tsv",
        name_column="roi_name", network_column="yeo7_network", window=30, stride=5,
        overwrite=True,
    ).dataset
    rows = []
    for name, opts in CONFIGS.items():
        start = time.perf_counter()
        api.pretrain(ds, work / "runs" / name.split()[0] / name.split()[-1], epochs=args.epochs,
                     seed=0, overwrite=True, **opts)
        seconds = time.perf_counter() - start
        res = api.probe(work / "runs" / name.split()[0] / name.split()[-1], ds,
                        label="child_adult", cv=5, repeats=args.repeats, probes=("linear",),
                        seed=0)
        summary = res.summary[res.summary["probe"] != "knn"].set_index("representation")
        comp = res.comparison
        vs_raw = comp[(comp["a"] == "encoder") & (comp["b"] == "raw-fc")
                      & (comp["probe"] == "linear")].iloc[0]
        rows.append((name, summary.loc["encoder", "balanced_accuracy_mean"],
                     summary.loc["encoder", "balanced_accuracy_sd"],
                     summary.loc["untrained", "balanced_accuracy_mean"],
                     summary.loc["raw-fc", "balanced_accuracy_mean"],
                     summary.loc["tangent", "balanced_accuracy_mean"],
                     vs_raw["mean_diff"], vs_raw["p"], seconds))
    print(f"\nchild vs adult, 115 subjects, linear probe, 5-fold x {args.repeats}; "
          f"{args.epochs} pretraining epochs on CPU\n")
    print("| encoder + objective | encoder | untrained | raw FC | tangent | "
          "encoder - raw FC (p) | pretrain s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, mean, sd, untrained, raw, tangent, diff, p, seconds in rows:
        print(f"| {name} | {mean:.3f} ± {sd:.3f} | {untrained:.3f} | {raw:.3f} | "
              f"{tangent:.3f} | {diff:+.3f} ({p:.2f}) | {seconds:.0f} |")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
