"""Simulated FC datasets with a planted effect, to check that a pipeline finds what is there.

The model. Every node loads on a global factor and on the factor of its network, which gives a
population correlation matrix ``R0`` (``within`` inside a network, ``between`` across). Class 1
adds ``effect`` to the correlation of every pair of nodes inside the planted network, and
nowhere else::

    R_c = R0 + c * effect * (B - I_B),      B = planted-network block, c in {0, 1}

Each subject then gets its own covariance, ``R_c + jitter * W W^T`` with a random
``n_nodes x 5`` matrix ``W`` (the same distribution in both classes), rescaled to unit
variances, and ``n_times`` Gaussian samples drawn through its Cholesky factor. FC is the
Pearson correlation of those samples (:func:`neurocl.connectivity.static.connectivity`), so the
stored ``fc`` and ``timeseries`` agree.

Because the distribution of a sample correlation ``r_ij`` depends only on the 2 x 2 covariance
of nodes ``i`` and ``j``, and outside the planted block that covariance has the same
distribution in both classes, the classes differ in the distribution of FC inside the planted
network only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurocl._core.errors import ParameterError
from neurocl.connectivity.static import connectivity
from neurocl.data.dataset import FCDataset, write_dataset
from neurocl.io.atlases import load_atlas
from neurocl.io.networks import NO_NETWORK, canonical_network

__all__ = ["DEFAULT_EFFECT", "DEFAULT_TIMES", "population_correlation", "simulate_dataset"]

#: Correlation added inside the planted network for class 1. With the other defaults
#: (100 subjects, 150 time points, Schaefer-100, Default network) the raw-FC logistic
#: probe reaches a balanced accuracy of about 0.8; see ``benchmarks/bench_planted.py``.
DEFAULT_EFFECT = 0.065
#: Time points per subject.
DEFAULT_TIMES = 150
#: Population correlation inside a network and across networks.
WITHIN, BETWEEN = 0.3, 0.1
#: Strength and rank of the subject-specific covariance jitter.
JITTER, JITTER_RANK = 0.15, 5


def population_correlation(
    networks: list[str], planted: str, effect: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the population correlation of both classes.

    Parameters
    ----------
    networks : list of str
        The network of each node (length ``n_nodes``).
    planted : str
        The network whose internal correlation differs between the classes.
    effect : float
        Correlation added to every pair of nodes of ``planted`` in class 1.

    Returns
    -------
    r0, r1 : ndarray of shape (n_nodes, n_nodes)
        Class 0 and class 1 correlation matrices; they differ only inside ``planted``.
    """
    nets = np.asarray(networks, dtype=object)
    same = (nets[:, None] == nets[None, :]) & (nets[:, None] != NO_NETWORK)
    r0 = np.where(same, WITHIN, BETWEEN).astype(np.float64)
    np.fill_diagonal(r0, 1.0)
    member = nets == planted
    block = np.outer(member, member).astype(np.float64)
    np.fill_diagonal(block, 0.0)
    return r0, r0 + effect * block


def _check(n_subjects: int, effect: float, n_times: int, n_nodes: int, r1: np.ndarray) -> None:
    if n_subjects < 4:
        raise ParameterError(f"--subjects must be at least 4 (two per class); got {n_subjects}")
    if n_times <= n_nodes:
        raise ParameterError(
            f"n_times must exceed the number of nodes ({n_nodes}) for a well-defined "
            f"correlation; got {n_times}: pass a larger --times"
        )
    if not np.isfinite(effect):
        raise ParameterError(f"effect must be a finite number; got {effect}")
    if np.linalg.eigvalsh(r1).min() <= 1e-6 or np.abs(r1 - np.eye(len(r1))).max() >= 1:
        raise ParameterError(
            f"effect {effect} makes the class-1 correlation matrix invalid (not positive "
            f"definite); choose an effect between about -{BETWEEN} and {1 - WITHIN - 0.05:.2f}"
        )


def simulate_dataset(
    out: str | Path,
    *,
    n_subjects: int = 100,
    planted_network: str = "Default",
    effect: float = DEFAULT_EFFECT,
    n_times: int = DEFAULT_TIMES,
    atlas: str | Path = "schaefer100",
    seed: int = 0,
    timeseries: bool = True,
    overwrite: bool = False,
) -> FCDataset:
    """Write a dataset whose two classes differ in FC inside one network only.

    Parameters
    ----------
    out : str or Path
        The dataset directory to create (written atomically).
    n_subjects : int
        Number of subjects (one scan each), split as evenly as possible into the classes.
    planted_network : str
        The network carrying the effect; canonical names and the usual aliases
        (``DMN``, ``SalVentAttn``, ...) are accepted.
    effect : float
        Correlation added to every pair of nodes of the planted network in class 1.
    n_times : int
        Time points per subject (must exceed the number of nodes).
    atlas : str or Path
        Atlas giving node names, networks and centroids (built-in name or file accepted by
        :func:`neurocl.io.atlases.load_atlas`); Schaefer-100 with 7 networks by default.
    seed : int
        Seed of labels, covariances and signals.
    timeseries : bool
        Store the signals (``timeseries.npy``, shape (n_subjects, n_times, n_nodes)); the FC
        is the same either way.
    overwrite : bool
        Replace an existing ``out``.

    Returns
    -------
    FCDataset
        ``fc`` of shape (n_subjects, n_nodes, n_nodes) (Pearson correlation, diagonal 1 as
        ``build-fc`` writes it), ``covariance``, optionally ``timeseries``; ``subjects`` with
        ``sample_id``, ``subject_id`` and the binary ``label`` (0/1); ``meta["simulation"]``
        with the planted network, its nodes and every setting.

    Raises
    ------
    ParameterError
        An unknown network (the message lists the atlas's networks), too few subjects or
        time points, or an effect that makes the correlation matrix invalid.

    Examples
    --------
    >>> ds = simulate_dataset("sim.ds", planted_network="Default", seed=0)  # doctest: +SKIP
    >>> ds.subjects["label"].value_counts()  # doctest: +SKIP
    """
    found = load_atlas(atlas)
    nodes = found.nodes[["name", "network", "x", "y", "z"]].reset_index(drop=True)
    networks = nodes["network"].astype(str).tolist()
    valid = [n for n in dict.fromkeys(networks) if n != NO_NETWORK]
    planted = canonical_network(planted_network)
    if planted not in valid:
        planted = str(planted_network)
    if planted not in valid:
        raise ParameterError(
            f"planted network {planted_network!r} is not a network of atlas {found.name!r}; "
            f"choose one of: {', '.join(valid)}"
        )
    n_nodes = len(nodes)
    r0, r1 = population_correlation(networks, planted, float(effect))
    _check(int(n_subjects), float(effect), int(n_times), n_nodes, r1)

    rng = np.random.default_rng(seed)
    n1 = n_subjects // 2
    labels = rng.permutation(np.r_[np.zeros(n_subjects - n1, int), np.ones(n1, int)])
    signals = np.empty((n_subjects, n_times, n_nodes), dtype=np.float32)
    for s, y in enumerate(labels):
        w = rng.standard_normal((n_nodes, JITTER_RANK)) / np.sqrt(JITTER_RANK)
        cov = (r1 if y else r0) + JITTER * (w @ w.T)
        sd = np.sqrt(np.diag(cov))
        cov = cov / np.outer(sd, sd)
        chol = np.linalg.cholesky(cov)
        signals[s] = rng.standard_normal((n_times, n_nodes)) @ chol.T
    fc = connectivity(signals, "correlation")
    covariance = connectivity(signals, "covariance")

    ids = [f"sim-{i:04d}" for i in range(n_subjects)]
    subjects = pd.DataFrame({"sample_id": ids, "subject_id": ids, "label": labels})
    members = [str(n) for n, net in zip(nodes["name"], networks, strict=True) if net == planted]
    simulation: dict[str, Any] = {
        "planted_network": planted, "planted_nodes": members, "effect": float(effect),
        "n_times": int(n_times), "seed": int(seed), "within": WITHIN, "between": BETWEEN,
        "jitter": JITTER, "jitter_rank": JITTER_RANK,
    }
    meta = {"modality": "fmri", "kind": "correlation", "fisher_z": False,
            "atlas": found.name, "simulation": simulation}
    return write_dataset(out, fc=fc.astype(np.float32), subjects=subjects, nodes=nodes,
                         meta=meta, covariance=covariance,
                         timeseries=signals if timeseries else None, overwrite=overwrite)
