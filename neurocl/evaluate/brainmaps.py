"""Pictures and brain maps of ablation and importance results.

Every figure is drawn with matplotlib's Agg backend (no display needed) and saved as a PNG
with a title that says what it shows and a colour bar where colours carry values:

- :func:`plot_ablation`: bar chart of the change in probe score per network, with its CI
  and the size-matched null;
- :func:`plot_node_markers`: node importance as markers on a glass brain (nilearn);
- :func:`plot_top_edges`: the most important edges as a connectome (nilearn);
- :func:`paint_parcels` / :func:`plot_parcel_map`: node values painted on a labels atlas
  (NIfTI) and shown as a glass brain;
- :func:`plot_eeg_topomap`: channel importance as a scalp topography (MNE).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurocl._core.errors import ParameterError


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


# --------------------------------------------------------------------------- ablation
def plot_ablation(table: pd.DataFrame, metric: str, modes: Sequence[str], path: str | Path,
                  *, title: str = "Network ablation") -> Path:
    """Bar chart of the change from the intact score per network, mode and representation.

    Each bar is ``ablated - intact`` (mean over folds x repeats) with its 95 % interval;
    the grey band is the central 95 % of the size-matched random node sets (mean +- 1.96 sd);
    a star marks FDR-corrected p < 0.05 against that null.

    Parameters
    ----------
    table : DataFrame
        :attr:`neurocl.evaluate.ablation.AblationResult.table`.
    metric : str
        The metric name (axis label).
    modes : sequence of str
        ``drop`` and/or ``keep-only``.
    path : str or Path
        The PNG to write.
    title : str
        Figure title.

    Returns
    -------
    Path
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    from neurocl.evaluate.ablation import MODE_PREFIX

    reps = list(dict.fromkeys(table["representation"]))
    n_rows, n_cols = max(len(reps), 1), max(len(modes), 1)
    n_net = max(int(table["network"].nunique()), 1)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.6 * n_cols + 1.2, 0.42 * n_net * n_rows
                                                      + 1.6 * n_rows), squeeze=False)
    for r, rep in enumerate(reps):
        sub = table[table["representation"] == rep].reset_index(drop=True)
        for c, mode in enumerate(modes):
            ax = axes[r][c]
            pre = MODE_PREFIX[mode]
            delta = sub[f"{pre}_delta"].to_numpy(dtype=float)
            low = sub[f"{pre}_ci_low"].to_numpy(dtype=float)
            high = sub[f"{pre}_ci_high"].to_numpy(dtype=float)
            y = np.arange(len(sub))[::-1]
            labels = [f"{n} ({k})" for n, k in zip(sub["network"], sub["n_nodes"], strict=True)]
            colors = ["#c0392b" if d < 0 else "#2471a3" for d in np.nan_to_num(delta)]
            err = np.vstack([np.clip(delta - low, 0, None), np.clip(high - delta, 0, None)])
            ax.barh(y, np.nan_to_num(delta), color=colors, alpha=0.85, height=0.65,
                    xerr=np.nan_to_num(err), error_kw={"ecolor": "black", "capsize": 2,
                                                       "lw": 0.8})
            nm = sub.get(f"{pre}_null_mean")
            ns = sub.get(f"{pre}_null_sd")
            if nm is not None and np.isfinite(nm.to_numpy(dtype=float)).any():
                for yi, m, s in zip(y, nm.to_numpy(dtype=float), ns.to_numpy(dtype=float),
                                    strict=True):
                    if np.isfinite(m):
                        s = 0.0 if not np.isfinite(s) else s
                        ax.fill_betweenx([yi - 0.38, yi + 0.38], m - 1.96 * s, m + 1.96 * s,
                                         color="grey", alpha=0.3, lw=0, zorder=0)
                        ax.plot([m, m], [yi - 0.38, yi + 0.38], color="grey", lw=1)
            q = sub.get(f"{pre}_p_fdr")
            if q is not None:
                span = np.nanmax(np.abs(np.r_[low, high, 1e-3][np.isfinite(np.r_[low, high,
                                                                                   1e-3])]))
                for yi, qi, hi, lo in zip(y, q.to_numpy(dtype=float), high, low, strict=True):
                    if np.isfinite(qi) and qi < 0.05:
                        x = (hi if np.isfinite(hi) else 0) + 0.04 * span
                        if mode == "drop":
                            x = (lo if np.isfinite(lo) else 0) - 0.04 * span
                        ax.text(x, yi, "*", va="center",
                                ha="right" if mode == "drop" else "left", fontsize=12)
            ax.axvline(0, color="black", lw=0.8)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
            ax.use_sticky_edges = False
            ax.margins(x=0.08)
            ax.set_yticks(y)
            ax.set_yticklabels(labels, fontsize=9)
            ax.set_xlabel(f"change in {metric.replace('_', ' ')} (ablated - intact)")
            intact = float(sub["intact"].iloc[0]) if len(sub) else float("nan")
            ax.set_title(f"{rep}: {mode} (intact {intact:.3f})", fontsize=10)
            ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{title}\nbars: mean change with 95% CI; grey: size-matched random sets "
                 "(mean +- 1.96 sd); *: FDR q < 0.05", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- brain plots
def has_coordinates(nodes: pd.DataFrame) -> bool:
    """Whether every node has finite ``x``, ``y``, ``z``."""
    if not {"x", "y", "z"} <= set(nodes.columns):
        return False
    xyz = nodes[["x", "y", "z"]].to_numpy(dtype=float)
    return bool(np.isfinite(xyz).all())


def plot_node_markers(values: np.ndarray, coords: np.ndarray, path: str | Path, *,
                      title: str, cbar_label: str = "importance") -> Path:
    """Node values as coloured, sized markers on a glass brain (nilearn ``plot_markers``).

    Parameters
    ----------
    values : ndarray of shape (n_nodes,)
        One value per node.
    coords : ndarray of shape (n_nodes, 3)
        MNI coordinates in mm.
    path : str or Path
        The PNG to write.
    title : str
        Figure title.
    cbar_label : str
        Unused by nilearn's colour bar; kept in the title.

    Returns
    -------
    Path
    """
    plt = _pyplot()
    from nilearn import plotting

    values = np.asarray(values, dtype=float)
    vmax = float(np.nanmax(np.abs(values))) or 1.0
    size = 15 + 85 * np.abs(values) / vmax
    fig = plt.figure(figsize=(10, 3.6))
    cmap = "RdBu_r" if np.nanmin(values) < 0 else "YlOrRd"
    display = plotting.plot_markers(values, np.asarray(coords, dtype=float), node_size=size,
                                    node_cmap=cmap, node_vmin=-vmax if cmap == "RdBu_r" else 0,
                                    node_vmax=vmax, display_mode="lzry", figure=fig,
                                    title=None, colorbar=True)
    fig.suptitle(f"{title} ({cbar_label}; marker size and colour)", fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=100)
    display.close()
    plt.close(fig)
    return path


def plot_top_edges(edges: np.ndarray, coords: np.ndarray, path: str | Path, *, title: str,
                   top: int = 20, node_values: np.ndarray | None = None) -> Path:
    """Plot the ``top`` edges of largest absolute value as a connectome (nilearn).

    Parameters
    ----------
    edges : ndarray of shape (n_nodes, n_nodes)
        Symmetric edge values (e.g. Haufe patterns); the diagonal is ignored.
    coords : ndarray of shape (n_nodes, 3)
        MNI coordinates in mm.
    path : str or Path
        The PNG to write.
    title : str
        Figure title.
    top : int
        Number of edges shown.
    node_values : ndarray of shape (n_nodes,), optional
        Node importance, shown as node size.

    Returns
    -------
    Path
    """
    plt = _pyplot()
    from nilearn import plotting

    mat = np.array(edges, dtype=float, copy=True)
    mat = (mat + mat.T) / 2
    np.fill_diagonal(mat, 0)
    n = len(mat)
    iu = np.triu_indices(n, 1)
    mags = np.abs(mat[iu])
    top = int(min(max(top, 1), len(mags)))
    keep = np.zeros_like(mat)
    order = np.argsort(mags)[::-1][:top]
    keep[iu[0][order], iu[1][order]] = mat[iu[0][order], iu[1][order]]
    keep = keep + keep.T
    involved = np.zeros(n, dtype=bool)
    involved[iu[0][order]] = True
    involved[iu[1][order]] = True
    if node_values is not None:
        nv = np.abs(np.asarray(node_values, dtype=float))
        size = np.where(involved, 10 + 60 * nv / (nv.max() or 1.0), 2.0)
    else:
        size = np.where(involved, 25.0, 2.0)
    vmax = float(np.abs(keep).max()) or 1.0
    fig = plt.figure(figsize=(10, 3.6))
    display = plotting.plot_connectome(keep, np.asarray(coords, dtype=float), node_size=size,
                                       node_color="black", edge_cmap="RdBu_r",
                                       edge_vmin=-vmax, edge_vmax=vmax, display_mode="lzry",
                                       figure=fig, colorbar=True,
                                       edge_kwargs={"linewidth": 1.6})
    fig.suptitle(f"{title} (top {top} edges by |value|)", fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=100)
    display.close()
    plt.close(fig)
    return path


def paint_parcels(labels_img: Any, label_values: np.ndarray, values: np.ndarray) -> Any:
    """Paint one value per parcel of a labels image.

    Parameters
    ----------
    labels_img : str, Path or Nifti1Image
        A 3D integer labels image (0 = background).
    label_values : ndarray of shape (n_nodes,)
        The label of each node in the image.
    values : ndarray of shape (n_nodes,)
        The value painted on each node's voxels.

    Returns
    -------
    Nifti1Image
        float32, same grid as ``labels_img``; 0 outside the parcels.

    Raises
    ------
    ParameterError
        When ``label_values`` and ``values`` differ in length.
    """
    import nibabel as nib

    img = nib.load(str(labels_img)) if isinstance(labels_img, (str, Path)) else labels_img
    data = np.round(np.asarray(img.dataobj)).astype(np.int64)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    label_values = np.asarray(label_values, dtype=np.int64)
    values = np.asarray(values, dtype=np.float32)
    if len(label_values) != len(values):
        raise ParameterError(
            f"{len(values)} node values for {len(label_values)} atlas labels; give one value "
            "per atlas region"
        )
    lut_max = int(max(data.max(), label_values.max(), 0))
    lut = np.zeros(lut_max + 1, dtype=np.float32)
    lut[label_values] = values
    out = np.where(data > 0, lut[np.clip(data, 0, lut_max)], 0).astype(np.float32)
    return nib.Nifti1Image(out, img.affine)


def plot_parcel_map(img: Any, path: str | Path, *, title: str) -> Path:
    """Plot a painted parcel map as a glass brain with a colour bar (nilearn)."""
    plt = _pyplot()
    from nilearn import plotting

    data = np.asarray(img.dataobj)
    signed = bool(np.nanmin(data) < 0)
    # voxels outside the parcels (0) stay transparent
    floor = 1e-6 * float(np.nanmax(np.abs(data)) or 1.0)
    fig = plt.figure(figsize=(10, 3.6))
    display = plotting.plot_glass_brain(img, display_mode="lzry", colorbar=True, figure=fig,
                                        plot_abs=not signed, cmap="RdBu_r" if signed
                                        else "YlOrRd", threshold=floor)
    fig.suptitle(title, fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=100)
    display.close()
    plt.close(fig)
    return path


def plot_eeg_topomap(values: np.ndarray, names: Sequence[str], coords: np.ndarray,
                     path: str | Path, *, title: str) -> Path:
    """Channel values as a scalp topography (MNE), positions from the node table.

    Parameters
    ----------
    values : ndarray of shape (n_channels,)
        One value per channel.
    names : sequence of str
        Channel names.
    coords : ndarray of shape (n_channels, 3)
        Channel positions in the head frame; metres, or millimetres when any coordinate
        exceeds 1 in absolute value.
    path : str or Path
        The PNG to write.
    title : str
        Figure title.

    Returns
    -------
    Path
    """
    plt = _pyplot()
    import mne

    xyz = np.asarray(coords, dtype=float)
    if np.nanmax(np.abs(xyz)) > 1:
        xyz = xyz / 1000.0
    names = [str(n) for n in names]
    montage = mne.channels.make_dig_montage(ch_pos=dict(zip(names, xyz, strict=True)),
                                            coord_frame="head")
    info = mne.create_info(names, sfreq=100.0, ch_types="eeg")
    info.set_montage(montage, on_missing="ignore")
    values = np.asarray(values, dtype=float)
    signed = bool(np.nanmin(values) < 0)
    vmax = float(np.nanmax(np.abs(values))) or 1.0
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    im, _ = mne.viz.plot_topomap(values, info, axes=ax, show=False,
                                 cmap="RdBu_r" if signed else "YlOrRd",
                                 vlim=(-vmax if signed else 0.0, vmax))
    fig.colorbar(im, ax=ax, shrink=0.7, label="importance")
    ax.set_title(title, fontsize=10)
    path = Path(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


__all__ = [
    "has_coordinates",
    "paint_parcels",
    "plot_ablation",
    "plot_eeg_topomap",
    "plot_node_markers",
    "plot_parcel_map",
    "plot_top_edges",
]
