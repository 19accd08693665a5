"""Child/adult probe of generative self-supervision on the development fMRI data.

Usage: python benchmarks/probe_generative.py DATA_DIR OUT_DIR [--epochs-st 8]
       [--epochs-graph 40] [--seeds 0 1 2]

Builds the AAL-116 dataset of the 115 development subjects with dynamic FC (window 30,
stride 5: 28 windows), pretrains ``st-gnn + masked-dfc`` and ``gin + masked-graph`` with
``neurocl pretrain``'s API, embeds every subject with the frozen encoders (trained and
untrained), and scores a logistic-regression probe of child vs adult on the same folds
(stratified 5-fold, repeated over ``--seeds``) for each representation and for the raw FC
(Fisher z, upper triangle). Inside every training fold: standardisation, then logistic
regression with class weights balanced and C chosen by an inner 3-fold CV. Prints a
markdown table (mean and standard deviation of the balanced accuracy over folds).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neurocl import api


def probe_scores(x: np.ndarray, y: np.ndarray, seeds: list[int]) -> np.ndarray:
    """Balanced accuracy of every (seed, fold) of a stratified 5-fold logistic probe."""
    scores = []
    for seed in seeds:
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
            model = make_pipeline(
                StandardScaler(),
                LogisticRegressionCV(Cs=np.logspace(-4, 2, 7), cv=3, class_weight="balanced",
                                     scoring="balanced_accuracy", max_iter=5000),
            )
            model.fit(x[train], y[train])
            scores.append(balanced_accuracy_score(y[test], model.predict(x[test])))
    return np.asarray(scores)


def main() -> None:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs-st", type=int, default=8)
    parser.add_argument("--epochs-graph", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", choices=["st-gnn", "gin"], default=None,
                        help="Pretrain only this encoder (the raw-FC baseline is always scored).")
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)  # scikit-learn's deprecation notices
    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)
    ds_path = args.out / "dev_dyn.ds"
    if not ds_path.exists():
        api.build_fc_fmri([args.data / "development_fmri" / "timeseries_aal116.npz"],
                          out=ds_path, window=30, stride=5)
    ds = api.load_dataset(ds_path)
    y = (ds.subjects["child_adult"].astype(str) == "adult").to_numpy().astype(int)
    runs = {
        "st-gnn + masked-dfc": dict(encoder="st-gnn", objective="masked-dfc", mask_ratio=0.5,
                                    epochs=args.epochs_st, hidden=16, layers=1, batch_size=32,
                                    lr=1e-3),
        "gin + masked-graph": dict(encoder="gin", objective="masked-graph",
                                   epochs=args.epochs_graph, batch_size=16, lr=1e-3),
    }
    fc = np.asarray(ds.fc, dtype=np.float64)
    iu = np.triu_indices(ds.n_nodes, 1)
    reps = {"raw FC (Fisher z, upper triangle)": np.arctanh(np.clip(fc, -0.999999, 0.999999))[
        :, iu[0], iu[1]]}
    timing = {}
    if args.only:
        runs = {k: v for k, v in runs.items() if k.startswith(args.only)}
    for name, options in runs.items():
        folder = args.out / name.split()[0]
        start = time.perf_counter()
        run = api.pretrain(ds, folder, overwrite=True, device="cpu", seed=0, **options)
        timing[name] = time.perf_counter() - start
        reps[name] = run.embed(ds)
        reps[f"{name.split()[0]} untrained"] = run.embed(ds, untrained=True)
    rows = []
    for name, x in reps.items():
        s = probe_scores(x, y, args.seeds)
        rows.append((name, x.shape[1], s.mean(), s.std()))
    print(f"\n{ds.n_samples} subjects ({int(y.sum())} adults), stratified 5-fold x "
          f"{len(args.seeds)} seeds, CPU: {platform.processor() or platform.machine()}, "
          f"torch threads {torch.get_num_threads()}\n")
    print("| representation | dim | balanced accuracy (mean ± sd over folds) |")
    print("|---|---|---|")
    for name, dim, mean, sd in rows:
        print(f"| {name} | {dim} | {mean:.3f} ± {sd:.3f} |")
    print()
    for name, options in runs.items():
        print(f"- {name}: {json.dumps(options)}; pretraining took {timing[name]:.0f} s")


if __name__ == "__main__":
    main()
