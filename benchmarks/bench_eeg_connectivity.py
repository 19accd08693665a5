"""Benchmark: per-epoch EEG connectivity, neurocl vs mne-connectivity, same input and settings.

All 45 imagery epochs of PhysioNet S001 (runs 4, 8, 12; T1/T2, 0-4 s, 64 channels, 160 Hz),
five bands (delta 2-4, theta 4-8, alpha 8-13, beta 13-30, gamma 30-45 Hz), frequencies every
1 Hz, n_cycles = max(f / 2, 3), multitaper (time-bandwidth 4) or Morlet wavelets, the 2016
channel pairs of the upper triangle on both sides (``indices`` for mne-connectivity), one job
each. The reference runs ``spectral_connectivity_time`` on all frequencies without
``faverage`` and the band average is taken afterwards (a cheap mean over frequencies).
The amplitude methods compare with ``envelope_correlation`` on the same band-passed signals.

Usage::

    NEUROCL_TEST_DATA=../shared/data python benchmarks/bench_eeg_connectivity.py \
        [--ref-epochs 45] [--methods coh,imcoh,plv,pli,wpli,aec,aec-orth] [--mode multitaper]
        [--threads N]

``--ref-epochs K`` runs the reference on the first K epochs only and scales its time by
45 / K (the table says so); the maximum difference is then over those K epochs.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np


def load_epochs(root: Path) -> tuple[np.ndarray, float]:
    import mne

    out = []
    for run in ("S001R04", "S001R08", "S001R12"):
        raw = mne.io.read_raw_edf(root / "eeg_motor_imagery" / f"{run}.edf", preload=True,
                                  verbose="error")
        ev, _ = mne.events_from_annotations(raw, event_id={"T1": 1, "T2": 2}, verbose="error")
        ep = mne.Epochs(raw, ev, tmin=0, tmax=4, baseline=None, preload=True, verbose="error")
        out.append(ep.get_data())
        sfreq = raw.info["sfreq"]
    return np.concatenate(out), sfreq


def timed(fn):  # noqa: ANN001, ANN201
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref-epochs", type=int, default=45)
    parser.add_argument("--methods", default="coh,imcoh,plv,pli,wpli,aec,aec-orth")
    parser.add_argument("--mode", default="multitaper", choices=["multitaper", "wavelet"])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch/numba threads for neurocl (default: all cores)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
        try:
            import numba

            numba.set_num_threads(args.threads)
        except ImportError:
            pass
    from mne_connectivity import envelope_correlation, spectral_connectivity_time

    from neurocl.connectivity import _spectral_kernels
    from neurocl.connectivity.spectral import (
        band_analytic,
        band_frequencies,
        default_n_cycles,
        parse_bands,
        spectral_connectivity,
    )

    root = Path(os.environ.get("NEUROCL_TEST_DATA", "../shared/data"))
    data, sfreq = load_epochs(root)
    n_epochs, n_ch, n_times = data.shape
    bands = parse_bands(None)
    freqs, masks = band_frequencies(bands)
    rows, cols = np.triu_indices(n_ch, 1)
    k = min(args.ref_epochs, n_epochs)
    scale = n_epochs / k
    # warm-up (compiles the numba kernels once, loads them from cache afterwards)
    spectral_connectivity(data[:1, :4], sfreq, method="wpli", mode=args.mode)
    spectral_connectivity(data[:1, :4], sfreq, method="plv", mode=args.mode)
    print(f"{n_epochs} epochs x {n_ch} channels x {n_times} samples at {sfreq:g} Hz, "
          f"{len(bands)} bands, {len(freqs)} frequencies, {len(rows)} pairs, mode {args.mode}; "
          f"neurocl threads {torch.get_num_threads()}, numba kernels "
          f"{'on' if _spectral_kernels.HAVE_NUMBA else 'off'}; reference n_jobs=1 on {k} "
          f"epoch{'s' if k > 1 else ''}{f' (time x {scale:g})' if k < n_epochs else ''}\n")
    print("| method | neurocl wall s | neurocl CPU s | mne-connectivity wall s | "
          "mne-connectivity CPU s | ratio wall | ratio CPU | max abs diff |")
    print("|---|---|---|---|---|---|---|---|")
    ref_mode = "cwt_morlet" if args.mode == "wavelet" else "multitaper"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in args.methods.split(","):
            ours, wall, cpu = timed(lambda m=method: spectral_connectivity(
                data, sfreq, method=m, bands=bands,
                mode=None if m in ("aec", "aec-orth") else args.mode))
            if method in ("aec", "aec-orth"):
                def reference(method=method):  # noqa: ANN001, ANN202
                    out = np.zeros((k, len(bands), n_ch, n_ch))
                    for b, band in enumerate(bands):
                        filtered, _ = band_analytic(data[:k], sfreq, band)
                        out[:, b] = envelope_correlation(
                            filtered, orthogonalize="pairwise" if method == "aec-orth"
                            else False).get_data(output="dense")[..., 0]
                    return out[..., rows, cols]
            else:
                def reference(method=method):  # noqa: ANN001, ANN202
                    con = spectral_connectivity_time(
                        data[:k], freqs, method=method, indices=(rows, cols),
                        sfreq=sfreq, mode=ref_mode, n_cycles=default_n_cycles(freqs),
                        faverage=False, n_jobs=1, verbose=False).get_data()
                    return np.einsum("epf,bf->ebp", con, masks / masks.sum(1, keepdims=True))
            ref, ref_wall, ref_cpu = timed(reference)
            ref_wall, ref_cpu = ref_wall * scale, ref_cpu * scale
            diff = np.abs(ours[:k][..., rows, cols] - ref).max()
            print(f"| {method} | {wall:.2f} | {cpu:.2f} | {ref_wall:.1f} | {ref_cpu:.1f} | "
                  f"{ref_wall / wall:.1f}x | {ref_cpu / cpu:.1f}x | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
