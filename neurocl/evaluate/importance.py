"""Node importance: where in the brain the information a probe reads lies.

Three methods, each computed on held-out folds (the probe of a fold is fitted on its
training rows and explains its test rows only):

- ``occlusion``: one node at a time is occluded and the drop in the probe's evidence for
  the true class (classification: probability of the true class; regression: increase of
  the squared error) on the test rows is the node's importance. For the encoder the node's
  FC row and column are zeroed and the frozen encoder embeds the matrices again; for the
  raw-FC baseline the node's edges take their training-fold mean (they carry no
  subject-specific information then).
- ``ig``: integrated gradients (Sundararajan et al. 2017) of the log-probability of the
  true class (regression: the prediction) through encoder + linear probe, with respect to
  the input FC matrix, from an all-zero FC baseline (midpoint Riemann sum). An edge's
  attribution is the sum of its two symmetric entries; a node's importance is the sum of
  the absolute attributions of its edges, averaged over test rows. Needs an encoder that is
  a torch module (a neurocl run).
- ``haufe``: the activation pattern of the linear raw-FC probe (Haufe et al. 2014),
  ``A = cov(X) w / var(w^T X)`` on the training rows of each fold (``w`` in the units of the
  Fisher-z features), averaged over folds; a node's importance is the sum of ``|A|`` over its
  edges.

Per-network aggregates give the sum and the mean per node (so large networks do not win by
size alone).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurocl._core.errors import ParameterError
from neurocl._core.progress import no_progress
from neurocl._core.registry import normalize_name
from neurocl.evaluate.ablation import (
    FoldProbes,
    ProbeSetup,
    check_encoder,
    edge_index,
    embed_with,
    mask_fc,
    network_sets,
    prepare_setup,
    raw_fc_matrix,
    records,
    single_threaded,
)
from neurocl.io.networks import canonical_network

METHODS = ("occlusion", "haufe", "ig")
#: integration steps of integrated gradients
IG_STEPS = 32
#: nodes listed per method in the JSON summary
TOP_NODES = 10


@dataclass
class ImportanceResult:
    """What :func:`importance` returns.

    Attributes
    ----------
    nodes : DataFrame
        One row per node: ``name``, ``network``, ``x``, ``y``, ``z`` and one column per
        method and representation (``occlusion_encoder``, ``ig_encoder``,
        ``occlusion_raw_fc``, ``haufe_raw_fc``).
    networks : DataFrame
        One row per network: ``network``, ``n_nodes``, ``<column>_sum`` and
        ``<column>_mean`` for every importance column.
    edges : dict of str to ndarray of shape (n_nodes, n_nodes)
        Edge-level maps where the method has them (``haufe_raw_fc``: the activation pattern;
        ``ig_encoder``: mean attribution toward the true class).
    info : dict
        Label, task, folds, methods run, notes and timing.
    files : list of Path
        Files written.
    """

    nodes: pd.DataFrame
    networks: pd.DataFrame
    edges: dict[str, np.ndarray]
    info: dict[str, Any]
    files: list[Path] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The importance columns of :attr:`nodes`."""
        return list(self.info.get("columns", []))

    def top(self, column: str, n: int = TOP_NODES) -> pd.DataFrame:
        """Return the ``n`` nodes of largest importance in ``column``."""
        return self.nodes.sort_values(column, ascending=False).head(n)[
            ["name", "network", column]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``info``, per-network table and top nodes of each column."""
        return {
            "info": self.info,
            "networks": records(self.networks),
            "top_nodes": {c: records(self.top(c)) for c in self.columns},
            "files": [str(p) for p in self.files],
        }

    def write(self, directory: str | Path, *, labels_atlas: Any = None,
              modality: str | None = None, top_edges: int = 20) -> list[Path]:
        """Write the CSVs, JSON, edge maps, NIfTI maps and PNG pictures into ``directory``.

        Parameters
        ----------
        directory : str or Path
            An existing directory.
        labels_atlas : Atlas, optional
            A labels atlas with one region per node: each column is painted on it
            (``importance_<column>.nii.gz``) and shown as a glass brain.
        modality : str, optional
            ``eeg`` adds scalp topomaps (when channel positions are known).
        top_edges : int
            Edges shown in connectome plots.

        Returns
        -------
        list of Path
        """
        import json

        from neurocl.evaluate import brainmaps as bm

        d = Path(directory)
        files: list[Path] = []
        nodes_csv, net_csv, js = (d / "importance_nodes.csv", d / "importance_networks.csv",
                                  d / "importance.json")
        self.nodes.to_csv(nodes_csv, index=False)
        self.networks.to_csv(net_csv, index=False)
        files += [nodes_csv, net_csv]
        for col, mat in self.edges.items():
            path = d / f"edges_{col}.npy"
            np.save(path, np.asarray(mat, dtype=np.float64), allow_pickle=False)
            files.append(path)
        coords_ok = bm.has_coordinates(self.nodes)
        coords = self.nodes[["x", "y", "z"]].to_numpy(dtype=float) if coords_ok else None
        label = self.info.get("label")
        notes = self.info.setdefault("notes", [])
        eeg = (modality or "").lower() == "eeg"
        for col in self.columns:
            values = self.nodes[col].to_numpy(dtype=float)
            what = _describe(col)
            if coords is not None and not eeg:
                files.append(bm.plot_node_markers(
                    values, coords, d / f"markers_{col}.png",
                    title=f"{what}: node importance for {label}"))
                if col in self.edges:
                    files.append(bm.plot_top_edges(
                        self.edges[col], coords, d / f"connectome_{col}.png",
                        title=f"{what}: edges for {label}", top=top_edges,
                        node_values=values))
            if coords is not None and eeg:
                files.append(bm.plot_eeg_topomap(
                    values, self.nodes["name"].astype(str).tolist(), coords,
                    d / f"topomap_{col}.png", title=f"{what}\nchannel importance for {label}"))
            if labels_atlas is not None:
                img = bm.paint_parcels(labels_atlas.image, labels_atlas.label_values, values)
                nii = d / f"importance_{col}.nii.gz"
                img.to_filename(str(nii))
                files.append(nii)
                files.append(bm.plot_parcel_map(
                    img, d / f"parcels_{col}.png",
                    title=f"{what}: node importance for {label}, painted on the atlas"))
        if coords is None:
            notes.append("nodes have no x/y/z coordinates: no brain or scalp pictures")
        files.append(js)
        self.files = files
        js.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return files

    def __repr__(self) -> str:
        return (f"ImportanceResult(label={self.info.get('label')!r}, "
                f"columns={self.columns}, nodes={len(self.nodes)})")


def _describe(column: str) -> str:
    method, _, rep = column.partition("_")
    names = {"occlusion": "Occlusion", "ig": "Integrated gradients",
             "haufe": "Haufe pattern"}
    reps = {"encoder": "encoder", "raw_fc": "raw-FC probe"}
    return f"{names.get(method, method)} ({reps.get(rep, rep)})"


# --------------------------------------------------------------------------- main entry
def importance(
    dataset: Any,
    *,
    label: str,
    encoder: Any | None = None,
    methods: Sequence[str] = METHODS,
    cv: int = 5,
    repeats: int = 1,
    group: str = "subject_id",
    networks: str | Path | None = None,
    band: str | None = None,
    task: str = "auto",
    seed: int = 0,
    ig_steps: int = IG_STEPS,
    device: str = "cpu",
    progress: Callable[..., None] | None = None,
) -> ImportanceResult:
    """Per-node importance of the encoder and of the raw-FC baseline, on held-out folds.

    Parameters
    ----------
    dataset : FCDataset
        The dataset.
    label : str
        Label column of ``dataset.subjects``.
    encoder : object with ``embed(dataset, fc=...)``, optional
        A frozen encoder (a :class:`neurocl.train.run.Run`); integrated gradients also need
        its ``load_encoder()`` torch module.
    methods : sequence of {"occlusion", "haufe", "ig"}
        Methods to run; ``ig`` is skipped (with a note) without a torch encoder.
    cv, repeats : int
        Outer folds and repetitions; a node's importance is averaged over every held-out row.
    group : str
        Column whose values never straddle train and test.
    networks : str or Path, optional
        Network table overriding the dataset's (for the per-network sums).
    band : str, optional
        EEG: the band whose FC is the raw-FC baseline.
    task : {"auto", "classification", "regression"}
        The task.
    seed : int
        Seed of folds and inner folds.
    ig_steps : int
        Integration steps of integrated gradients.
    device : str
        Torch device.
    progress : callable, optional
        ``progress(stage, done, total)``.

    Returns
    -------
    ImportanceResult

    Raises
    ------
    ParameterError
        Unknown method, bad label or folds.
    CheckpointError
        A run trained on another atlas.
    """
    t0 = time.perf_counter()
    progress = progress or no_progress
    methods = list(dict.fromkeys(normalize_name(m) for m in methods))
    for m in methods:
        if m not in METHODS:
            raise ParameterError(f"unknown importance method {m!r}; valid methods: "
                                 f"{', '.join(METHODS)}")
    if not methods:
        raise ParameterError(f"methods must name at least one of {', '.join(METHODS)}")
    if ig_steps < 1:
        raise ParameterError(f"ig_steps must be >= 1; got {ig_steps}")
    if encoder is not None:
        check_encoder(encoder, dataset)
    sets = network_sets(dataset.nodes, networks, unassigned="group")
    setup = prepare_setup(dataset, label=label, task=task, cv=cv, repeats=repeats,
                          group=group, seed=seed, probe="linear")
    n = dataset.n_nodes
    notes: list[str] = []
    cols: dict[str, np.ndarray] = {}
    edges: dict[str, np.ndarray] = {}
    if encoder is not None:
        import torch  # noqa: F401  (so that its threads are limited too)

    with single_threaded():
        if encoder is not None and ("occlusion" in methods or "ig" in methods):
            emb = embed_with(encoder, dataset, None, device)
            probes_e = FoldProbes(setup).fit(emb[setup.keep])
            if "occlusion" in methods:
                cols["occlusion_encoder"] = _occlusion_encoder(
                    encoder, dataset, setup, probes_e, emb, device, progress)
            if "ig" in methods:
                module = _torch_encoder(encoder, device)
                if module is None:
                    notes.append("ig skipped: the encoder is not a torch module reachable "
                                 "through load_encoder()")
                else:
                    cols["ig_encoder"], edges["ig_encoder"] = _integrated_gradients(
                        module, dataset, setup, probes_e, ig_steps, progress)
        elif "ig" in methods:
            notes.append("ig skipped: it explains an encoder and none was given")
        if "occlusion" in methods or "haufe" in methods:
            raw, diagonal = raw_fc_matrix(dataset, band)
            rows_e, cols_e = edge_index(n, diagonal)
            x = raw[:, rows_e, cols_e][setup.keep]
            probes_r = FoldProbes(setup).fit(x)
            if "occlusion" in methods:
                cols["occlusion_raw_fc"] = _occlusion_raw(x, rows_e, cols_e, n, setup,
                                                          probes_r, progress)
            if "haufe" in methods:
                cols["haufe_raw_fc"], edges["haufe_raw_fc"] = _haufe(
                    x, rows_e, cols_e, n, setup, probes_r)

    table = dataset.nodes[["name", "network"]].copy()
    table["network"] = [canonical_network(v) for v in table["network"]]
    if networks is not None:
        lookup = {int(i): k for k, idx in sets.items() for i in idx}
        table["network"] = [lookup.get(i, "None") for i in range(n)]
    for axis in ("x", "y", "z"):
        table[axis] = dataset.nodes[axis].to_numpy(dtype=float) if axis in dataset.nodes \
            else np.nan
    for name, values in cols.items():
        table[name] = values
    net_rows = []
    for name, idx in sets.items():
        row: dict[str, Any] = {"network": name, "n_nodes": len(idx)}
        for col, values in cols.items():
            row[f"{col}_sum"] = float(np.sum(values[idx]))
            row[f"{col}_mean"] = float(np.mean(values[idx]))
        net_rows.append(row)
    net_table = pd.DataFrame(net_rows)
    if cols:
        first = f"{next(iter(cols))}_mean"
        net_table = net_table.sort_values(first, ascending=False).reset_index(drop=True)
    info = {
        "label": label, "task": setup.target.task, "classes": setup.target.classes,
        "methods": methods, "columns": list(cols), "cv": cv, "repeats": repeats,
        "n_folds": len(setup.folds), "n_samples": int(setup.keep.sum()),
        "scheme": setup.grouping.reason, "seed": seed, "band": band,
        "ig_steps": ig_steps if "ig_encoder" in cols else None,
        "dataset": str(getattr(dataset, "path", "")),
        "run": str(getattr(encoder, "path", "")) if encoder is not None else None,
        "notes": notes, "seconds": round(time.perf_counter() - t0, 2),
    }
    return ImportanceResult(table, net_table, edges, info)


# --------------------------------------------------------------------------- methods
def _evidence(est: Any, x: np.ndarray, y: np.ndarray, task: str) -> np.ndarray:
    """Per-row evidence for the truth: P(true class), or minus the squared error."""
    if task == "classification":
        proba = est.predict_proba(x)
        classes = list(np.asarray(est.classes_))
        col = np.array([classes.index(v) for v in y])
        return proba[np.arange(len(y)), col]
    return -(est.predict(x) - y) ** 2


def _occlusion_raw(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int,
                   setup: ProbeSetup, probes: FoldProbes,
                   progress: Callable[..., None]) -> np.ndarray:
    touching = [np.flatnonzero((rows == i) | (cols == i)) for i in range(n)]
    total = np.zeros(n)
    count = 0
    y = setup.target.y
    for f, (fold, est) in enumerate(zip(setup.folds, probes.fitted_, strict=True)):
        mean = est.named_steps["scaler"].mean_
        x_te, y_te = x[fold.test], y[fold.test]
        base = _evidence(est, x_te, y_te, setup.target.task)
        for i in range(n):
            occ = x_te.copy()
            occ[:, touching[i]] = mean[touching[i]]
            total[i] += float(np.sum(base - _evidence(est, occ, y_te, setup.target.task)))
        count += len(fold.test)
        progress("occlusion (raw FC)", f + 1, len(setup.folds))
    return total / max(count, 1)


def _occlusion_encoder(encoder: Any, dataset: Any, setup: ProbeSetup, probes: FoldProbes,
                       emb: np.ndarray, device: str,
                       progress: Callable[..., None]) -> np.ndarray:
    n = dataset.n_nodes
    fc = np.asarray(dataset.fc, dtype=np.float32)
    y = setup.target.y
    task = setup.target.task
    intact = emb[setup.keep]
    base = [_evidence(est, intact[f.test], y[f.test], task)
            for f, est in zip(setup.folds, probes.fitted_, strict=True)]
    count = sum(len(f.test) for f in setup.folds)
    out = np.zeros(n)
    for i in range(n):
        occ = embed_with(encoder, dataset, mask_fc(fc, np.array([i]), "drop"), device)
        occ = occ[setup.keep]
        total = 0.0
        for f, est, b in zip(setup.folds, probes.fitted_, base, strict=True):
            total += float(np.sum(b - _evidence(est, occ[f.test], y[f.test], task)))
        out[i] = total / max(count, 1)
        progress("occlusion (encoder)", i + 1, n)
    return out


def _linear_parts(est: Any) -> tuple[np.ndarray, np.ndarray]:
    """Weights and intercepts of a fitted ``scaler -> rowspace -> model`` pipeline.

    Returns
    -------
    w : ndarray of shape (n_outputs, n_features)
        Weights on the original (unscaled) features.
    b : ndarray of shape (n_outputs,)
    """
    scaler = est.named_steps["scaler"]
    rowspace = est.named_steps["rowspace"]
    model = est.named_steps["model"]
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    if getattr(rowspace, "components_", None) is not None:
        coef = coef @ rowspace.components_
    w = coef / scaler.scale_
    b = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64)) - w @ scaler.mean_
    return w, b


def _haufe(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int, setup: ProbeSetup,
           probes: FoldProbes) -> tuple[np.ndarray, np.ndarray]:
    """Haufe activation patterns of the raw-FC probe, averaged over folds."""
    pattern = np.zeros(len(rows))
    for fold, est in zip(setup.folds, probes.fitted_, strict=True):
        w, _ = _linear_parts(est)
        xc = x[fold.train] - x[fold.train].mean(axis=0)
        s = xc @ w.T
        var = s.var(axis=0, ddof=1)
        var[var == 0] = 1.0
        a = (xc.T @ s) / (len(xc) - 1) / var
        pattern += a[:, 0] if a.shape[1] == 1 else np.abs(a).sum(axis=1)
    pattern /= len(setup.folds)
    mat = np.zeros((n, n))
    mat[rows, cols] = pattern
    mat[cols, rows] = pattern
    # each edge is counted once in the row of each endpoint (a diagonal feature once)
    return np.abs(mat).sum(axis=1), mat


def _torch_encoder(encoder: Any, device: str) -> Any:
    load = getattr(encoder, "load_encoder", None)
    if not callable(load):
        return None
    import torch

    module = load(device=device)
    return module if isinstance(module, torch.nn.Module) else None


def integrated_gradients(forward: Callable[[Any], Any], x: Any, steps: int = IG_STEPS,
                         baseline: Any = None) -> Any:
    """Integrated gradients of a scalar function of one input (midpoint Riemann sum).

    Parameters
    ----------
    forward : callable
        Maps a batch of inputs (steps, *shape) to one scalar per input (steps,).
    x : Tensor of shape (*shape)
        The input explained.
    steps : int
        Integration steps.
    baseline : Tensor of shape (*shape), optional
        The reference input (zeros by default).

    Returns
    -------
    Tensor of shape (*shape)
        Attributions; they sum to ``forward(x) - forward(baseline)`` up to the
        integration error.
    """
    import torch

    x = x.detach()
    base = torch.zeros_like(x) if baseline is None else baseline.detach()
    alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps
    path = base.unsqueeze(0) + alphas.view(-1, *([1] * x.dim())) * (x - base).unsqueeze(0)
    path.requires_grad_(True)
    with torch.enable_grad():
        out = forward(path)
        (grad,) = torch.autograd.grad(out.sum(), path)
    return (x - base) * grad.mean(dim=0)


def _integrated_gradients(module: Any, dataset: Any, setup: ProbeSetup, probes: FoldProbes,
                          steps: int, progress: Callable[..., None]
                          ) -> tuple[np.ndarray, np.ndarray]:
    import torch

    dev = next(module.parameters()).device
    fc_all = np.asarray(dataset.fc, dtype=np.float32)[setup.keep]
    y = setup.target.y
    task = setup.target.task
    n = fc_all.shape[-1]
    node_total = np.zeros(n)
    edge_total = np.zeros((n, n))
    count = 0
    for f, (fold, est) in enumerate(zip(setup.folds, probes.fitted_, strict=True)):
        w, b = _linear_parts(est)
        wt = torch.as_tensor(w, dtype=torch.float32, device=dev)
        bt = torch.as_tensor(b, dtype=torch.float32, device=dev)
        classes = list(np.asarray(getattr(est, "classes_", [])))
        for row in fold.test:
            x = torch.as_tensor(fc_all[row], device=dev)

            def forward(batch: Any, _y: Any = y[row], _w: Any = wt, _b: Any = bt,
                        _c: list[Any] = classes) -> Any:
                out = module(batch)
                emb = getattr(out, "graph", out)
                logits = emb.float() @ _w.T + _b
                if task != "classification":
                    return logits[:, 0]
                k = _c.index(_y)
                if logits.shape[1] == 1:
                    sign = 1.0 if k == 1 else -1.0
                    return torch.nn.functional.logsigmoid(sign * logits[:, 0])
                return torch.log_softmax(logits, dim=1)[:, k]

            attr = integrated_gradients(forward, x, steps).detach().cpu().numpy()
            e = attr + attr.T
            np.fill_diagonal(e, 0.0)
            node_total += np.abs(e).sum(axis=1)
            edge_total += e
            count += 1
        progress("integrated gradients", f + 1, len(setup.folds))
    return node_total / max(count, 1), edge_total / max(count, 1)


__all__ = ["IG_STEPS", "METHODS", "ImportanceResult", "importance", "integrated_gradients"]
