"""Atlases that work offline and know their networks.

Built-in atlases:

- ``schaefer100`` and ``schaefer200``: Schaefer 2018 cortical parcellations (100 / 200
  parcels, 7-network order, FSL MNI152 1 mm), shipped with neurocl (MIT licence);
- ``dosenbach2010`` (160 ROIs) and ``seitzman2018`` (300 ROIs): coordinate atlases read from
  the tables that nilearn's own package ships, turned into spheres (10 mm diameter for
  Dosenbach, each ROI's own radius for Seitzman).

Any labels NIfTI (3D integers), probabilistic maps NIfTI (4D) or coordinate table
(``x``, ``y``, ``z`` in mm) can be given instead, with an optional network table. Network
names are made canonical with :func:`neurocl.io.networks.canonical_network`, except where two
networks of the same atlas would fall onto one canonical name (Seitzman's ``Salience`` and
``VentralAttention``): those keep their own names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurocl._core.errors import InputFileError, ParameterError
from neurocl._core.registry import Registry, normalize_name
from neurocl.io.networks import NO_NETWORK, canonical_network, read_node_table

ATLAS_DATA = Path(__file__).parent / "atlas_data"
ATLAS_KINDS = ("labels", "maps", "spheres")
#: radius (mm) of the spheres of a coordinate table without a radius column
DEFAULT_RADIUS_MM = 5.0


@dataclass
class Atlas:
    """A brain atlas: regions in MNI space and one node-table row per region.

    Attributes
    ----------
    name : str
        Built-in name or the file it was read from.
    kind : {"labels", "maps", "spheres"}
        Integer label volume, 4D probabilistic maps, or spheres around coordinates.
    nodes : DataFrame
        One row per region, in node order: ``name``, ``network`` (canonical), ``x``, ``y``,
        ``z`` (centroid in mm).
    image : str or Nifti1Image, optional
        The labels (3D) or maps (4D) image; None for spheres.
    label_values : ndarray of shape (n_nodes,), optional
        For labels atlases, the integer value of each node in ``image``.
    coords : ndarray of shape (n_nodes, 3), optional
        For spheres, the sphere centres in mm.
    radius : ndarray of shape (n_nodes,), optional
        For spheres, the radius of each sphere in mm.
    description : str
        Origin and licence.
    """

    name: str
    kind: str
    nodes: pd.DataFrame
    image: Any = None
    label_values: np.ndarray | None = None
    coords: np.ndarray | None = None
    radius: np.ndarray | None = None
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of regions."""
        return len(self.nodes)

    def networks(self) -> dict[str, int]:
        """Return the number of nodes of each network, in order of first appearance."""
        out: dict[str, int] = {}
        for net in self.nodes["network"].astype(str):
            out[net] = out.get(net, 0) + 1
        return out

    def subset(self, keep: np.ndarray) -> Atlas:
        """Return the atlas restricted to the nodes where ``keep`` is True (order kept)."""
        return self.take(np.flatnonzero(np.asarray(keep, dtype=bool)))

    def take(self, indices: Any) -> Atlas:
        """Return the atlas made of the nodes ``indices``, in that order."""
        idx = np.asarray(indices, dtype=int)
        return Atlas(
            name=self.name,
            kind=self.kind,
            nodes=self.nodes.iloc[idx].reset_index(drop=True),
            image=self.image,
            label_values=None if self.label_values is None else self.label_values[idx],
            coords=None if self.coords is None else self.coords[idx],
            radius=None if self.radius is None else self.radius[idx],
            description=self.description,
            info=dict(self.info),
        )


_BUILTIN: Registry[Callable[[], Atlas]] = Registry("atlas")


def canonical_networks(names: Any) -> list[str]:
    """Canonicalise the network names of one atlas without merging distinct networks.

    Parameters
    ----------
    names : sequence of object
        The network label of each node, as the atlas table gives it.

    Returns
    -------
    list of str
        Canonical names (:func:`~neurocl.io.networks.canonical_network`); where two
        different source names would become the same canonical name, both keep their own.
    """
    raw = [str(n).strip() if n is not None else "" for n in names]
    canon = {r: canonical_network(r) for r in set(raw)}
    if "unassigned" in {r.lower() for r in raw}:
        canon.update({r: NO_NETWORK for r in canon if r.lower() == "unassigned"})
    by_target: dict[str, set[str]] = {}
    for src, tgt in canon.items():
        if tgt != NO_NETWORK:
            by_target.setdefault(tgt, set()).add(src)
    for sources in by_target.values():
        if len(sources) > 1:
            for src in sources:
                canon[src] = src
    return [canon[r] for r in raw]


def _schaefer(n_parcels: int) -> Atlas:
    stem = f"Schaefer2018_{n_parcels}Parcels_7Networks_order"
    table = pd.read_csv(ATLAS_DATA / f"{stem}.tsv", sep="\t")
    nodes = pd.DataFrame(
        {
            "name": table["name"].astype(str),
            "network": canonical_networks(table["network"]),
            "x": table["x_mm"].astype(float),
            "y": table["y_mm"].astype(float),
            "z": table["z_mm"].astype(float),
        }
    )
    return Atlas(
        name=f"schaefer{n_parcels}",
        kind="labels",
        nodes=nodes,
        image=str(ATLAS_DATA / f"{stem}_FSLMNI152_1mm.nii.gz"),
        label_values=table["index"].to_numpy(dtype=int),
        description=f"Schaefer 2018, {n_parcels} parcels, 7 networks, FSL MNI152 1 mm (MIT)",
    )


@_BUILTIN.register("schaefer100", "schaefer2018-100")
def _schaefer100() -> Atlas:
    return _schaefer(100)


@_BUILTIN.register("schaefer200", "schaefer2018-200")
def _schaefer200() -> Atlas:
    return _schaefer(200)


def _nilearn_data(filename: str) -> Path:
    import nilearn.datasets

    path = Path(nilearn.datasets.__file__).parent / "data" / filename
    if not path.is_file():
        raise InputFileError(
            "is not in the installed nilearn package; install nilearn>=0.11 (its wheel ships "
            "this table) or give your own coordinate table with --atlas",
            path,
        )
    return path


@_BUILTIN.register("dosenbach2010", "dosenbach", "dosenbach-2010")
def _dosenbach() -> Atlas:
    table = pd.read_csv(_nilearn_data("dosenbach_2010.csv"))
    coords = table[["x", "y", "z"]].to_numpy(dtype=float)
    names = [f"{int(i)}_{n}" for i, n in zip(table["number"], table["name"], strict=True)]
    nodes = pd.DataFrame(
        {
            "name": names,
            "network": canonical_networks(table["network"]),
            "x": coords[:, 0],
            "y": coords[:, 1],
            "z": coords[:, 2],
        }
    )
    return Atlas(
        name="dosenbach2010",
        kind="spheres",
        nodes=nodes,
        coords=coords,
        radius=np.full(len(coords), 5.0),
        description="Dosenbach 2010, 160 ROIs, 10 mm spheres (table shipped by nilearn)",
    )


@_BUILTIN.register("seitzman2018", "seitzman", "seitzman-2018")
def _seitzman() -> Atlas:
    table = pd.read_csv(_nilearn_data("seitzman_2018_ROIs_300inVol_MNI_allInfo.txt"), sep=" ")
    anat_file = _nilearn_data("seitzman_2018_ROIs_anatomicalLabels.txt")
    with anat_file.open() as fh:
        header = fh.readline()
        codes = [int(float(line)) for line in fh if line.strip()]
    mapping = {int(k): v for k, v in (item.split("=") for item in header.strip().split(","))}
    coords = table[["x", "y", "z"]].to_numpy(dtype=float)
    names = [f"{i + 1:03d}_{mapping[c]}" for i, c in enumerate(codes)]
    nodes = pd.DataFrame(
        {
            "name": names,
            "network": canonical_networks(table["netName"]),
            "x": coords[:, 0],
            "y": coords[:, 1],
            "z": coords[:, 2],
        }
    )
    return Atlas(
        name="seitzman2018",
        kind="spheres",
        nodes=nodes,
        coords=coords,
        radius=table["radius(mm)"].to_numpy(dtype=float),
        description="Seitzman 2018, 300 ROIs, 4-5 mm spheres (table shipped by nilearn)",
    )


def builtin_atlas_names() -> list[str]:
    """Return the names of the built-in atlases, sorted."""
    return _BUILTIN.names()


def list_atlases() -> list[dict[str, Any]]:
    """Describe the built-in atlases.

    Returns
    -------
    list of dict
        One dict per atlas: ``name``, ``kind`` (labels or spheres), ``n_nodes``,
        ``networks`` (name -> number of nodes) and ``description``.
    """
    out = []
    for name in builtin_atlas_names():
        atlas = _BUILTIN.get(name)()
        out.append(
            {
                "name": atlas.name,
                "kind": atlas.kind,
                "n_nodes": atlas.n_nodes,
                "networks": atlas.networks(),
                "description": atlas.description,
            }
        )
    return out


def _is_image(path: Path) -> bool:
    return path.name.lower().endswith((".nii", ".nii.gz"))


def load_atlas(
    atlas: str | Path | Atlas,
    *,
    networks: str | Path | None = None,
) -> Atlas:
    """Return an atlas from a built-in name, a NIfTI file or a coordinate table.

    Parameters
    ----------
    atlas : str, Path or Atlas
        A built-in name (see :func:`list_atlases`), a labels NIfTI (3D integers, 0 is the
        background), a maps NIfTI (4D, one map per node), or a TSV/CSV with ``x``, ``y``,
        ``z`` columns in mm (optional ``radius``, ``name``, ``network``). An :class:`Atlas`
        passes through.
    networks : str or Path, optional
        A node table (one row per node in node order, or with an ``index``/``label`` column
        giving each label value) with ``name`` and ``network`` columns; overrides the names
        and networks of the atlas.

    Returns
    -------
    Atlas

    Raises
    ------
    ParameterError
        For an unknown built-in name (the message lists the built-in ones).
    InputFileError
        For a file that cannot be read or does not fit the atlas.
    """
    if isinstance(atlas, Atlas):
        result = atlas
    else:
        text = str(atlas)
        path = Path(text)
        if normalize_name(text) in _BUILTIN:
            result = _BUILTIN.get(text)()
        elif path.is_file():
            result = _atlas_from_file(path)
        elif _is_image(path) or path.suffix.lower() in (".tsv", ".csv", ".txt"):
            raise InputFileError("atlas file not found; check the --atlas path", path)
        else:
            raise ParameterError(
                f"unknown atlas {text!r}; built-in atlases: {', '.join(builtin_atlas_names())} "
                "(or give a labels/maps NIfTI or a coordinate table)"
            )
    if networks is not None:
        result = _apply_networks(result, Path(networks))
    return result


def _atlas_from_file(path: Path) -> Atlas:
    if _is_image(path):
        return _atlas_from_image(path)
    return _atlas_from_coords(path)


def _atlas_from_image(path: Path) -> Atlas:
    import nibabel as nib

    try:
        img: Any = nib.load(str(path))
        data = np.asarray(img.dataobj)
    except Exception as exc:  # nibabel raises many types for broken files
        raise InputFileError(
            f"cannot read the atlas image ({type(exc).__name__}: {exc}); give a valid NIfTI",
            path,
        ) from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim == 4:
        n = data.shape[3]
        centroids = _map_centroids(data, img.affine)
        nodes = pd.DataFrame(
            {
                "name": [f"map-{i:03d}" for i in range(n)],
                "network": NO_NETWORK,
                "x": centroids[:, 0],
                "y": centroids[:, 1],
                "z": centroids[:, 2],
            }
        )
        return Atlas(name=str(path), kind="maps", nodes=nodes, image=str(path),
                     description=f"probabilistic maps from {path.name}")
    if data.ndim != 3:
        raise InputFileError(
            f"atlas image has {data.ndim} dimensions; give a 3D labels image or 4D maps", path
        )
    if not np.allclose(data, np.round(data)):
        raise InputFileError(
            "atlas image is 3D but not integer-valued; a labels atlas holds one integer per "
            "region (0 = background); give maps as a 4D image",
            path,
        )
    labels = np.unique(np.round(data).astype(np.int64))
    labels = labels[labels != 0]
    if labels.size == 0:
        raise InputFileError("atlas image holds no labels (only 0); give a labels image", path)
    centroids = label_centroids(np.round(data).astype(np.int64), img.affine, labels)
    nodes = pd.DataFrame(
        {
            "name": [f"label-{int(v)}" for v in labels],
            "network": NO_NETWORK,
            "x": centroids[:, 0],
            "y": centroids[:, 1],
            "z": centroids[:, 2],
        }
    )
    return Atlas(name=str(path), kind="labels", nodes=nodes, image=str(path),
                 label_values=labels.astype(int), description=f"labels from {path.name}")


def label_centroids(data: np.ndarray, affine: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Centre of mass (mm) of each label of an integer volume.

    Parameters
    ----------
    data : ndarray of shape (nx, ny, nz)
        Integer labels.
    affine : ndarray of shape (4, 4)
        Voxel-to-mm affine.
    labels : ndarray of shape (n_labels,)
        The label values, in node order.

    Returns
    -------
    ndarray of shape (n_labels, 3)
        NaN for a label with no voxel.
    """
    flat = data.ravel()
    index = {int(v): i for i, v in enumerate(labels)}
    pos = np.array([index.get(int(v), -1) for v in np.unique(flat)])
    lut = dict(zip(np.unique(flat).tolist(), pos.tolist(), strict=True))
    node = np.vectorize(lut.get, otypes=[np.int64])(flat)
    keep = node >= 0
    ijk = np.column_stack(np.unravel_index(np.flatnonzero(keep), data.shape)).astype(float)
    counts = np.bincount(node[keep], minlength=len(labels)).astype(float)
    sums = np.stack(
        [np.bincount(node[keep], weights=ijk[:, a], minlength=len(labels)) for a in range(3)],
        axis=1,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_ijk = sums / counts[:, None]
    return mean_ijk @ affine[:3, :3].T + affine[:3, 3]


def _map_centroids(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    grid = np.indices(data.shape[:3]).reshape(3, -1).T.astype(float)
    weights = np.clip(data.reshape(-1, data.shape[3]).astype(float), 0, None)
    total = weights.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_ijk = (weights.T @ grid) / total[:, None]
    return mean_ijk @ affine[:3, :3].T + affine[:3, 3]


def _atlas_from_coords(path: Path) -> Atlas:
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        table = pd.read_csv(path, sep=sep, keep_default_na=False)
    except Exception as exc:
        raise InputFileError(f"cannot read the coordinate table ({exc})", path) from exc
    lower = {c.lower().strip(): c for c in table.columns}
    cols = []
    for axis in ("x", "y", "z"):
        col = next((lower[k] for k in (axis, f"{axis}_mm", f"mni_{axis}") if k in lower), None)
        if col is None:
            raise InputFileError(
                f"no {axis!r} column among {list(table.columns)}; a coordinate atlas needs "
                "x, y, z columns in MNI mm (or give a labels NIfTI)",
                path,
            )
        cols.append(col)
    try:
        coords = table[cols].astype(float).to_numpy()
    except ValueError as exc:
        raise InputFileError(f"coordinates are not numbers ({exc})", path) from exc
    radius_col = next((lower[k] for k in ("radius", "radius_mm", "radius(mm)") if k in lower),
                      None)
    radius = (
        table[radius_col].astype(float).to_numpy()
        if radius_col is not None
        else np.full(len(coords), DEFAULT_RADIUS_MM)
    )
    name_col = next((lower[k] for k in ("name", "roi_name", "label", "region") if k in lower),
                    None)
    net_col = next((lower[k] for k in ("network", "yeo7_network", "net") if k in lower), None)
    width = max(3, len(str(len(coords))))
    nodes = pd.DataFrame(
        {
            "name": (
                table[name_col].astype(str).to_numpy()
                if name_col
                else [f"roi-{i:0{width}d}" for i in range(len(coords))]
            ),
            "network": (
                canonical_networks(table[net_col]) if net_col else [NO_NETWORK] * len(coords)
            ),
            "x": coords[:, 0],
            "y": coords[:, 1],
            "z": coords[:, 2],
        }
    )
    return Atlas(name=str(path), kind="spheres", nodes=nodes, coords=coords, radius=radius,
                 description=f"spheres around the coordinates of {path.name}")


def _apply_networks(atlas: Atlas, path: Path) -> Atlas:
    table = read_node_table(path)
    raw = pd.read_csv(path, sep="," if path.suffix.lower() == ".csv" else "\t", dtype=str,
                      keep_default_na=False)
    lower = {c.lower(): c for c in raw.columns}
    net_col = next(lower[k] for k in ("network", "yeo7_network", "networks", "net", "community")
                   if k in lower)
    value_col = next((lower[k] for k in ("index", "label_value", "roi_value", "value")
                      if k in lower), None)
    if value_col is not None and atlas.kind == "labels" and atlas.label_values is not None:
        try:
            values = raw[value_col].astype(int).to_numpy()
        except ValueError as exc:
            raise InputFileError(f"column {value_col!r} must hold integer label values",
                                 path) from exc
        position = {int(v): i for i, v in enumerate(atlas.label_values)}
        missing = [int(v) for v in values if int(v) not in position]
        if missing:
            raise InputFileError(
                f"label values {missing[:5]} of the network table are not in the atlas image; "
                "check that the table belongs to this atlas",
                path,
            )
        out = atlas.take([position[int(v)] for v in values])
    elif len(table) != atlas.n_nodes:
        raise InputFileError(
            f"network table has {len(table)} rows but the atlas has {atlas.n_nodes} regions; "
            "give one row per region in label order (or an 'index' column with label values)",
            path,
        )
    else:
        out = atlas.take(np.arange(atlas.n_nodes))
    nodes = out.nodes.copy()
    nodes["name"] = table["name"].to_numpy()
    nodes["network"] = canonical_networks(raw[net_col])
    for axis in ("x", "y", "z"):
        given = table[axis].to_numpy(dtype=float)
        nodes[axis] = np.where(np.isnan(given), nodes[axis].to_numpy(dtype=float), given)
    out.nodes = nodes
    return out
