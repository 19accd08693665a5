"""Planted-effect check: do `ablate` and `importance` find the network that carries the signal?

For each seed, `neurocl.simulate` writes a dataset (Schaefer-100, 7 networks) whose two classes
differ in FC inside one network only, with the default effect (sized so that the intact raw-FC
probe reaches a balanced accuracy of about 0.75-0.85). Then, on the raw-FC baseline:

- `ablate` (drop mode, size-matched null) must rank the planted network first (largest loss)
  with p < 0.05 against the random node sets of the same size;
- `importance` (Haufe patterns and occlusion) must put most (>= 6) of its top-10 nodes in the
  planted network.

A seed passes when all three hold. The target is at least 9 of 10 seeds.

Usage: python benchmarks/bench_planted.py [--seeds 10] [--network Default|cycle]
       [--subjects 100] [--null 49] [--cv 5] [--repeats 1] [--effect E]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from neurocl.data.simulate import DEFAULT_EFFECT, DEFAULT_TIMES, simulate_dataset
from neurocl.evaluate.ablation import ablate
from neurocl.evaluate.importance import importance

NETWORKS = ["Visual", "Somatomotor", "DorsalAttention", "VentralAttention", "Limbic",
            "Frontoparietal", "Default"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--network", default="Default",
                        help="planted network, or 'cycle' to go through the 7 networks")
    parser.add_argument("--subjects", type=int, default=100)
    parser.add_argument("--times", type=int, default=DEFAULT_TIMES)
    parser.add_argument("--effect", type=float, default=DEFAULT_EFFECT)
    parser.add_argument("--null", type=int, default=49)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="neurocl-planted-"))

    print(f"settings: {args.subjects} subjects, {args.times} time points, effect "
          f"{args.effect}, planted {args.network}, null {args.null} random sets per size, "
          f"{args.cv}-fold x {args.repeats}, top {args.top} nodes\n")
    print("| seed | planted | intact bal. acc. | first network (drop) | its delta | p (null) "
          "| top-10 in planted: haufe | occlusion | pass | time (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    passed = 0
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        planted = NETWORKS[seed % 7] if args.network == "cycle" else args.network
        ds = simulate_dataset(work / f"sim{seed}.ds", n_subjects=args.subjects,
                              planted_network=planted, effect=args.effect, n_times=args.times,
                              seed=seed, timeseries=False)
        planted = ds.meta["simulation"]["planted_network"]
        res = ablate(ds, label="label", modes=["drop"], n_null=args.null, cv=args.cv,
                     repeats=args.repeats, seed=seed)
        first = res.table.iloc[0]
        imp = importance(ds, label="label", methods=["haufe", "occlusion"], cv=args.cv,
                         repeats=args.repeats, seed=seed)
        hits = {c: int((imp.top(c, args.top)["network"] == planted).sum())
                for c in ("haufe_raw_fc", "occlusion_raw_fc")}
        ok = (first["network"] == planted and first["drop_p_null"] < 0.05
              and all(h > args.top // 2 for h in hits.values()))
        passed += ok
        print(f"| {seed} | {planted} | {res.info['intact']['raw-fc']:.3f} | {first['network']} "
              f"| {first['drop_delta']:+.3f} | {first['drop_p_null']:.3f} "
              f"| {hits['haufe_raw_fc']}/{args.top} | {hits['occlusion_raw_fc']}/{args.top} "
              f"| {'yes' if ok else 'no'} | {time.perf_counter() - t0:.0f} |", flush=True)
    print(f"\n{passed} of {args.seeds} seeds pass (target: at least 9 of 10)")


if __name__ == "__main__":
    main()
