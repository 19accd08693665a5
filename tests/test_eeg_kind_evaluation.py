"""Probe and ablate work on EEG datasets whose FC is a spectral measure (wPLI, coherence...)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurocl import api
from neurocl.data.dataset import write_dataset


def _eeg_dataset(path, rng):
    n, n_ch, n_t = 36, 9, 80
    labels = np.array(["left", "right"] * (n // 2))
    fc = rng.uniform(0.05, 0.15, (n, n_ch, n_ch))
    fc[labels == "right", 0, 1] += 0.5  # planted: one channel pair differs
    fc = (fc + np.swapaxes(fc, 1, 2)) / 2
    fc[:, np.arange(n_ch), np.arange(n_ch)] = 0.0
    subjects = pd.DataFrame({"sample_id": [f"S001R{4 + 4 * (i % 3):02d}_epoch-{i:03d}"
                                           for i in range(n)],
                             "subject_id": "S001", "run": [4 + 4 * (i % 3) for i in range(n)],
                             "label": labels})
    regions = ["Frontal", "Central", "Central", "Parietal", "Occipital", "Temporal",
               "Frontal", "Parietal", "Temporal"]
    nodes = pd.DataFrame({"name": [f"C{i}" for i in range(n_ch)], "network": regions,
                          "x": rng.normal(size=n_ch), "y": rng.normal(size=n_ch),
                          "z": rng.normal(size=n_ch)})
    return write_dataset(path, fc=fc, subjects=subjects, nodes=nodes,
                         meta={"modality": "eeg", "kind": "wpli", "fisher_z": False,
                               "sfreq": 160.0},
                         timeseries=rng.standard_normal((n, n_t, n_ch)))


def test_probe_and_ablate_on_wpli(tmp_path, rng):
    ds = _eeg_dataset(tmp_path / "mi.ds", rng)
    res = api.probe(None, ds, label="label", baselines_only=True, group="run", repeats=1,
                    baselines=("raw-fc", "chance"), probes=("linear",))
    summary = res.summary.set_index("representation")
    assert summary.loc["raw-fc", "balanced_accuracy_mean"] > 0.8
    assert res.info["n_folds"] == 3  # one person: leave-one-run-out
    abl = api.ablate(None, ds, label="label", baselines_only=True, group="run", n_null=5,
                     repeats=1, modes=("drop",))
    assert len(abl.table) > 0
