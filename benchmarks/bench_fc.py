"""Benchmark neurocl's FC engine against nilearn's ConnectivityMeasure.

Both sides get the same float64 ROI time series and the same covariance estimator
(scikit-learn ``EmpiricalCovariance(store_precision=False)`` / ``LedoitWolf(store_precision=False)``
on nilearn's side, ``shrinkage=None`` / ``"ledoit-wolf"`` on neurocl's), in one run. Every row
reports best-of-``--repeats`` wall times (``time.perf_counter``), their ratio, the largest
absolute difference between the two outputs, and the time of one pass over the input and
output arrays (a memory-bandwidth floor, for scale). The result is a markdown table.

Inputs
------
* N=116: the development set (``development_fmri/timeseries_aal116.npz``, 115 subjects x
  168 frames, confound-regressed) replicated to ``--subjects`` subjects. The folder comes from
  ``NEUROCL_TEST_DATA``, else ``../shared/data`` next to the repository; without either,
  seeded synthetic signals of the same shape are used (and the table says so).
* N=400: seeded synthetic signals, ``--subjects`` x 800 frames x 400 nodes. 800 = 2 N frames is
  the least neurocl accepts for empirical precision / partial correlation / tangent, and keeps
  every empirical covariance well conditioned.

Usage::

    python benchmarks/bench_fc.py            # full run (several minutes)
    python benchmarks/bench_fc.py --quick    # 100 subjects, N=116 only
    python benchmarks/bench_fc.py --sizes 400 --kinds correlation,tangent --subjects 100
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WINDOW, STRIDE = 30, 5
N400_TIMES = 800
#: a nilearn call slower than this many seconds is not repeated (its first time is the best)
LONG_CALL_S = 20.0
TOLERANCE = {
    "correlation": 1e-5,
    "covariance": 1e-5,
    "precision": 1e-6,
    "partial correlation": 1e-6,
    "tangent": 1e-6,
}
TARGET = {"correlation": 3.0, "tangent": 10.0, "dynamic correlation": 5.0}
KINDS = ("correlation", "covariance", "precision", "partial correlation", "tangent")
INVERSE_KINDS = ("precision", "partial correlation", "tangent")


def best_time(fn: Callable[[], object], repeats: int, long_call_s: float = np.inf):
    """Return (best seconds, number of runs, result of the last run)."""
    best, runs, out = np.inf, 0, None
    for _ in range(repeats):
        out = None
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best, runs = min(best, dt), runs + 1
        if dt > long_call_s:
            break
    return best, runs, out


def floor_time(x: np.ndarray, out: np.ndarray, repeats: int) -> float:
    """Best time of one read pass over the input and the output arrays."""
    t, _, _ = best_time(lambda: float(x.sum()) + float(out.sum()), repeats)
    return t


def data_folder() -> Path | None:
    value = os.environ.get("NEUROCL_TEST_DATA")
    path = Path(value) if value else REPO.parent / "shared" / "data"
    return path if (path / "development_fmri" / "timeseries_aal116.npz").is_file() else None


def development_signals(n_subjects: int) -> tuple[np.ndarray, str]:
    """(n_subjects, 168, 116) float64 signals, replicated from the 115 development subjects."""
    folder = data_folder()
    if folder is None:
        rng = np.random.default_rng(116)
        x = rng.standard_normal((115, 168, 116)).astype(np.float32)
        note = (
            "NEUROCL_TEST_DATA unset and ../shared/data missing: seeded synthetic "
            "signals of the development set's shape (115 x 168 x 116) were used instead"
        )
    else:
        path = folder / "development_fmri" / "timeseries_aal116.npz"
        with np.load(path, allow_pickle=False) as npz:
            x = npz["timeseries"]
        note = f"development set: {path.name}, {x.shape[0]} subjects x {x.shape[1]} frames"
    idx = np.arange(n_subjects) % len(x)
    return np.ascontiguousarray(x[idx], dtype=np.float64), note


def synthetic_signals(n_subjects: int, n_times: int, n_nodes: int, seed: int = 400) -> np.ndarray:
    """Seeded signals with a shared and a subject-specific mixing of white noise."""
    rng = np.random.default_rng(seed)
    shared = np.eye(n_nodes) + rng.standard_normal((n_nodes, n_nodes)) * (0.5 / np.sqrt(n_nodes))
    out = np.empty((n_subjects, n_times, n_nodes))
    for s in range(n_subjects):
        own = rng.standard_normal((n_nodes, n_nodes)) * (0.2 / np.sqrt(n_nodes))
        out[s] = rng.standard_normal((n_times, n_nodes)) @ (shared + own)
    return out


def not_spd(x: np.ndarray) -> int:
    """How many samples have an empirical covariance that is not positive definite."""
    xc = x - x.mean(axis=1, keepdims=True)
    cov = np.einsum("sti,stj->sij", xc, xc) / x.shape[1]
    return int((np.linalg.eigvalsh(cov)[:, 0] <= 0).sum())


def sk_estimator(shrinkage: str | None):
    from sklearn.covariance import EmpiricalCovariance, LedoitWolf

    if shrinkage == "ledoit-wolf":
        return LedoitWolf(store_precision=False)
    return EmpiricalCovariance(store_precision=False)


def fmt_s(t: float) -> str:
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:120].replace("|", "/")


class Table:
    header = (
        "| data | kind | estimator | nilearn | neurocl | ratio | target | max abs diff | "
        "tol | 1-pass floor |\n|---|---|---|---:|---:|---:|---|---:|---|---:|"
    )

    def __init__(self) -> None:
        self.rows: list[str] = []

    def add(self, *cells: str) -> None:
        row = "| " + " | ".join(cells) + " |"
        self.rows.append(row)
        print(row, file=sys.stderr, flush=True)

    def render(self) -> str:
        return "\n".join([self.header, *self.rows])


def bench_row(
    table: Table,
    label: str,
    x: np.ndarray,
    kind: str,
    shrinkage: str | None,
    repeats: int,
    dynamic: bool = False,
    notes: list[str] | None = None,
) -> None:
    from nilearn.connectome import ConnectivityMeasure

    from neurocl.connectivity import ConnectivityEstimator, dynamic_connectivity, sliding_windows

    est_name = "ledoit-wolf" if shrinkage else "empirical"
    row_kind = f"dynamic {kind} (w={WINDOW}, s={STRIDE})" if dynamic else kind
    target = TARGET.get(f"dynamic {kind}" if dynamic else kind)

    fitted: dict[str, ConnectivityEstimator] = {}
    if dynamic:
        nl_input = [w for s in x for w in sliding_windows(s, WINDOW, STRIDE)]

        def run_neurocl():
            return dynamic_connectivity(x, WINDOW, STRIDE, kind, shrinkage=shrinkage)
    else:
        nl_input = x

        def run_neurocl():
            fitted["est"] = ConnectivityEstimator(kind, shrinkage=shrinkage)
            return fitted["est"].fit_transform(x)

    def run_nilearn():
        cm = ConnectivityMeasure(cov_estimator=sk_estimator(shrinkage), kind=kind)
        return cm.fit_transform(nl_input)

    # the two sides alternate (nilearn, neurocl, nilearn, ...) so that a drift in the
    # machine's speed during a row affects both
    t_nl = t_ours = np.inf
    runs_nl = 0
    for rep in range(repeats):
        if rep == 0 or t_nl <= LONG_CALL_S:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t, _, out_nl = best_time(run_nilearn, 1)
            except Exception as exc:  # report, do not crash
                table.add(label, row_kind, est_name, first_line(exc), "", "", "", "", "", "")
                return
            t_nl, runs_nl = min(t_nl, t), runs_nl + 1
        try:
            t, _, out_ours = best_time(run_neurocl, 1)
        except Exception as exc:
            table.add(label, row_kind, est_name, fmt_s(t_nl), first_line(exc), "", "", "", "",
                      "")
            return
        t_ours = min(t_ours, t)
    out_ours = out_ours.reshape(out_nl.shape)
    diff = float(np.nanmax(np.abs(out_ours - out_nl)))
    tol = TOLERANCE[kind]
    ratio = t_nl / t_ours
    runs = " (1 run)" if runs_nl < repeats else ""
    target_cell = (
        "" if target is None else f">= {target:g}x " + ("ok" if ratio >= target else "MISSED")
    )
    floor = floor_time(x, out_ours, repeats)
    if kind == "tangent" and not dynamic and notes is not None:
        n_eigh = len(x) * (fitted["est"].n_iter_ + 1)
        t_eigh = eigh_floor(x, shrinkage, n_eigh)
        notes.append(
            f"- {label} tangent, {est_name}: the geometric mean took {fitted['est'].n_iter_} "
            f"gradient steps on both sides, so each side needs {n_eigh} eigendecompositions "
            f"of {x.shape[2]} x {x.shape[2]} (one per subject per step, one per subject for the "
            f"transform); these alone take {fmt_s(t_eigh)} at one matrix per core (numpy's "
            f"LAPACK, single-threaded): the ratio can be at most {t_nl / t_eigh:.1f}x here"
        )
    table.add(
        label,
        row_kind,
        est_name,
        fmt_s(t_nl) + runs,
        fmt_s(t_ours),
        f"{ratio:.1f}x",
        target_cell,
        f"{diff:.1e}",
        f"< {tol:g} " + ("ok" if diff < tol else "VIOLATED"),
        fmt_s(floor),
    )


def eigh_floor(x: np.ndarray, shrinkage: str | None, n_matrices: int) -> float:
    """Seconds for ``n_matrices`` eigendecompositions of the size of ``x``'s covariances,
    one matrix per core (the tangent kind's LAPACK floor), timed on up to 256 of them."""
    from neurocl.connectivity import ConnectivityEstimator
    from neurocl.connectivity._linalg import per_core_map

    cov = ConnectivityEstimator("covariance", shrinkage=shrinkage).fit_transform(x[:256])

    def run() -> None:
        per_core_map(lambda part: [np.linalg.eigh(cov[i]) for i in part], range(len(cov)))

    t, _, _ = best_time(run, 2)
    return t / len(cov) * n_matrices


def cli_help_time(repeats: int = 3) -> str:
    exe = shutil.which("neurocl", path=str(Path(sys.executable).parent)) or shutil.which("neurocl")
    cmd = [exe, "--help"] if exe else [sys.executable, "-m", "neurocl", "--help"]
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            msg = lines[-1] if lines else f"exit code {proc.returncode}"
            return f"failed (exit {proc.returncode}): {msg[:150]}".replace("|", "/")
        best = min(best, dt)
    return f"{fmt_s(best)} (best of {repeats}: `{' '.join([Path(cmd[0]).name, *cmd[1:]])}`)"


def environment() -> str:
    import nilearn
    import sklearn
    import torch
    from threadpoolctl import threadpool_info

    blas = ", ".join(
        f"{p['internal_api']} {p.get('version')} ({p['num_threads']} threads)"
        for p in threadpool_info()
    )
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return "\n".join(
        [
            f"- python {platform.python_version()}, numpy {np.__version__}, "
            f"torch {torch.__version__}, nilearn {nilearn.__version__}, "
            f"scikit-learn {sklearn.__version__}",
            f"- CPU count {os.cpu_count()}, torch threads {torch.get_num_threads()}, "
            f"numpy/scipy BLAS: {blas}",
            f"- {platform.platform()}, load average {load}",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=500, help="subjects per input (500)")
    parser.add_argument("--quick", action="store_true", help="100 subjects, N=116 only")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (3)")
    parser.add_argument(
        "--sizes", default="116,400", help="node counts to run, from 116 and 400 (116,400)"
    )
    parser.add_argument(
        "--kinds",
        default=",".join([*KINDS, "dynamic"]),
        help="comma-separated kinds to run; 'dynamic' is dynamic correlation (all)",
    )
    args = parser.parse_args(argv)
    n_subjects = 100 if args.quick else args.subjects
    sizes = {int(v) for v in args.sizes.split(",")}
    if args.quick:
        sizes.discard(400)
    kinds = [k.strip().replace("_", " ") for k in args.kinds.split(",")]
    unknown = set(kinds) - {*KINDS, "dynamic"}
    if unknown or not sizes <= {116, 400}:
        parser.error(f"unknown kinds {sorted(unknown)} or sizes {sorted(sizes - {116, 400})}")
    static_kinds = [k for k in KINDS if k in kinds]

    print("# neurocl FC vs nilearn ConnectivityMeasure\n")
    print(environment())
    t_start = time.perf_counter()
    table = Table()

    notes = []
    x116, note = development_signals(n_subjects) if 116 in sizes else (None, "")
    bad = 0
    if x116 is not None:
        label = f"N=116, {n_subjects}x{x116.shape[1]}"
        bad = not_spd(x116[: min(n_subjects, 115)])
        notes.append(f"- N=116: {note}, replicated to {n_subjects} subjects (float64 both sides)")
    if bad:
        notes.append(
            f"- N=116: {bad} of {min(n_subjects, 115)} distinct empirical covariances are "
            "singular (confound-regressed signals): empirical precision / partial correlation / "
            "tangent are n/a there; the Ledoit-Wolf rows cover them"
        )
    for kind in static_kinds if x116 is not None else []:
        for shrinkage in (None, "ledoit-wolf"):
            if kind in INVERSE_KINDS and shrinkage is None and bad:
                table.add(
                    label, kind, "empirical", "n/a (singular)", "n/a (singular)", "", "", "", "", ""
                )
                continue
            bench_row(table, label, x116, kind, shrinkage, args.repeats, notes=notes)
    for shrinkage in (None, "ledoit-wolf") if x116 is not None and "dynamic" in kinds else ():
        bench_row(table, label, x116, "correlation", shrinkage, args.repeats, dynamic=True)
    del x116

    if 400 in sizes:
        x400 = synthetic_signals(n_subjects, N400_TIMES, 400)
        label = f"N=400, {n_subjects}x{N400_TIMES}"
        notes.append(
            f"- N=400: seeded synthetic signals, {n_subjects} x {N400_TIMES} frames x 400 nodes "
            "(T = 2N: empirical covariances are full rank and well conditioned); dynamic FC "
            "is not run there (its output would be tens of GB)"
        )
        for kind in static_kinds:
            for shrinkage in (None, "ledoit-wolf"):
                bench_row(table, label, x400, kind, shrinkage, args.repeats, notes=notes)
        del x400

    cli = cli_help_time()
    print("\n" + table.render())
    print(f"\n`neurocl --help`: {cli}\n")
    print("\n".join(notes))
    print(
        f"- times are best of {args.repeats} (perf_counter), the two sides alternating; a "
        f"nilearn call over {LONG_CALL_S:g} s runs once, marked (1 run); dynamic rows give "
        "nilearn every window of every subject in one fit_transform call; 1-pass floor = one "
        "read over the input and output arrays"
    )
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"- total benchmark time {time.perf_counter() - t_start:.0f} s; load average {load}")


if __name__ == "__main__":
    main()
