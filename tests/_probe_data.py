"""Small simulated FC datasets for the probe tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurocl.data.dataset import write_dataset


def simulate(
    path,
    *,
    n_subjects: int = 48,
    runs: int = 1,
    n_nodes: int = 7,
    n_times: int = 53,
    effect: float = 0.0,
    seed: int = 0,
    block: tuple[int, ...] = (0, 1, 2),
    extra: dict | None = None,
    node_names: list[str] | None = None,
    kind_meta: dict | None = None,
    store_covariance: bool = True,
    store_timeseries: bool = False,
):
    """Write a dataset whose class-1 subjects share a latent signal on ``block`` nodes.

    Returns the dataset; ``subjects`` has ``sample_id``, ``subject_id``, ``run``, ``group``
    (0/1 as 'ctrl'/'case'), ``score`` (continuous, tied to the effect), ``age`` and ``sex``.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n_subjects) % 2
    rng.shuffle(labels)
    score = labels * 1.0 + rng.normal(0, 0.3, n_subjects)
    rows, signals = [], []
    for s in range(n_subjects):
        for r in range(runs):
            x = rng.standard_normal((n_times, n_nodes))
            shared = rng.standard_normal(n_times)
            strength = effect * (labels[s] if effect else 0.0)
            x[:, list(block)] += strength * shared[:, None]
            signals.append(x)
            rows.append({
                "sample_id": f"s{s:03d}_r{r}", "subject_id": f"s{s:03d}", "run": f"r{r}",
                "group": ["ctrl", "case"][labels[s]], "score": score[s],
                "age": 20 + 30 * rng.random(), "sex": rng.choice(["F", "M"]),
            })
    ts = np.stack(signals)
    xc = ts - ts.mean(axis=1, keepdims=True)
    cov = np.einsum("stn,stm->snm", xc, xc) / n_times
    d = np.sqrt(np.einsum("snn->sn", cov))
    fc = cov / d[:, :, None] / d[:, None, :]
    subjects = pd.DataFrame(rows)
    for key, values in (extra or {}).items():
        subjects[key] = values
    nodes = pd.DataFrame({
        "name": node_names or [f"n{i}" for i in range(n_nodes)],
        "network": ["A"] * 3 + ["B"] * (n_nodes - 3),
    })
    meta = {"modality": "fmri", "kind": "correlation", "fisher_z": False, "atlas": "sim",
            "covariance_estimator": "empirical", **(kind_meta or {})}
    return write_dataset(
        path, fc=fc, subjects=subjects, nodes=nodes, meta=meta,
        covariance=cov if store_covariance else None,
        timeseries=ts if store_timeseries else None,
    )
