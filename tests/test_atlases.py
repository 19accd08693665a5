"""Offline atlases: built-ins, user files, networks, centroids."""

from __future__ import annotations

import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurocl._core.errors import InputFileError, ParameterError
from neurocl.io.atlases import (
    ATLAS_DATA,
    builtin_atlas_names,
    canonical_networks,
    label_centroids,
    list_atlases,
    load_atlas,
)
from neurocl.io.networks import YEO7

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = None

EXPECTED = {
    "schaefer100": ("labels", 100),
    "schaefer200": ("labels", 200),
    "dosenbach2010": ("spheres", 160),
    "seitzman2018": ("spheres", 300),
}


def test_every_builtin_listed_and_loads():
    items = {a["name"]: a for a in list_atlases()}
    assert set(items) == set(EXPECTED) == set(builtin_atlas_names())
    for name, (kind, n) in EXPECTED.items():
        atlas = load_atlas(name)
        assert (atlas.kind, atlas.n_nodes) == (kind, n)
        assert (items[name]["kind"], items[name]["n_nodes"]) == (kind, n)
        assert sum(items[name]["networks"].values()) == n
        assert atlas.nodes[["x", "y", "z"]].notna().all().all()
        assert atlas.nodes["name"].is_unique


@pytest.mark.parametrize("n", [100, 200])
def test_schaefer_volume_labels_networks_and_centroids(n):
    atlas = load_atlas(f"schaefer{n}")
    assert set(atlas.nodes["network"]) == set(YEO7)
    img = nib.load(atlas.image)
    data = np.asarray(img.dataobj).astype(int)
    assert set(np.unique(data)) - {0} == set(atlas.label_values.tolist())
    # centroids from the shipped table agree with the volume's centres of mass
    mass = label_centroids(data, img.affine, atlas.label_values)
    dist = np.linalg.norm(mass - atlas.nodes[["x", "y", "z"]].to_numpy(), axis=1)
    assert np.median(dist) < 1.0


def test_coordinate_atlases_come_from_nilearn_package():
    import nilearn.datasets

    data = Path(nilearn.datasets.__file__).parent / "data"
    assert (data / "dosenbach_2010.csv").is_file()
    assert (data / "seitzman_2018_ROIs_300inVol_MNI_allInfo.txt").is_file()
    dos = load_atlas("dosenbach")
    table = pd.read_csv(data / "dosenbach_2010.csv")
    np.testing.assert_array_equal(dos.coords, table[["x", "y", "z"]].to_numpy(dtype=float))
    assert dos.nodes["network"].value_counts()["Default"] == 34
    seitz = load_atlas("seitzman-2018")
    counts = seitz.nodes["network"].value_counts()
    # Salience and VentralAttention are two networks there: not merged into one
    assert counts["Salience"] == 9 and counts["VentralAttention"] == 9
    assert counts["Default"] == 67 and counts["None"] == 15
    assert set(np.unique(seitz.radius)) == {4.0, 5.0}


def test_canonical_networks_do_not_merge_distinct_names():
    assert canonical_networks(["Vis", "SalVentAttn", "Cont", "n/a"]) == [
        "Visual", "VentralAttention", "Frontoparietal", "None"]
    assert canonical_networks(["Salience", "VentralAttention"]) == ["Salience",
                                                                    "VentralAttention"]


def test_unknown_name_lists_builtins(tmp_path):
    with pytest.raises(ParameterError) as err:
        load_atlas("aal116")
    for name in EXPECTED:
        assert name in str(err.value)
    with pytest.raises(InputFileError, match="not found"):
        load_atlas(tmp_path / "missing.nii.gz")


def test_user_labels_with_network_table_in_its_own_order(tmp_path):
    from scipy import ndimage

    data = np.zeros((7, 8, 9), dtype=np.int16)
    data[1:3, 1:4, 1:5] = 9
    data[4:6, 2:7, 3:8] = 2
    data[1:6, 5:7, 6:8] = 5
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [-10, -20, -30]
    path = tmp_path / "labels.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), path)
    plain = load_atlas(path)
    assert plain.kind == "labels" and plain.label_values.tolist() == [2, 5, 9]
    for value, row in zip([2, 5, 9], plain.nodes.itertuples(), strict=True):
        ijk = np.array(ndimage.center_of_mass(data == value))
        np.testing.assert_allclose([row.x, row.y, row.z], affine[:3, :3] @ ijk + affine[:3, 3])
    table = pd.DataFrame({"index": [9, 2, 5], "name": ["c", "a", "b"],
                          "network": ["DMN", "Vis", "other"]})
    tsv = tmp_path / "labels.tsv"
    table.to_csv(tsv, sep="\t", index=False)
    atlas = load_atlas(path, networks=tsv)
    assert atlas.label_values.tolist() == [9, 2, 5]
    assert atlas.nodes["name"].tolist() == ["c", "a", "b"]
    assert atlas.nodes["network"].tolist() == ["Default", "Visual", "other"]
    np.testing.assert_allclose(atlas.nodes.loc[1, ["x", "y", "z"]].to_numpy(dtype=float),
                               plain.nodes.loc[0, ["x", "y", "z"]].to_numpy(dtype=float))
    bad = tmp_path / "bad.tsv"
    pd.DataFrame({"name": ["a"], "network": ["Vis"]}).to_csv(bad, sep="\t", index=False)
    with pytest.raises(InputFileError, match="1 rows but the atlas has 3"):
        load_atlas(path, networks=bad)


def test_coordinate_table_atlas(tmp_path):
    path = tmp_path / "seeds.csv"
    pd.DataFrame({"name": ["pcc", "mpfc"], "x": [0, 2], "y": [-52, 50], "z": [26, -4],
                  "radius": [6, 8], "network": ["Default", "Default"]}).to_csv(path, index=False)
    atlas = load_atlas(path)
    assert atlas.kind == "spheres" and atlas.radius.tolist() == [6.0, 8.0]
    assert atlas.nodes["name"].tolist() == ["pcc", "mpfc"]
    nox = tmp_path / "nox.csv"
    pd.DataFrame({"a": [1]}).to_csv(nox, index=False)
    with pytest.raises(InputFileError, match="no 'x' column"):
        load_atlas(nox)


def test_atlas_files_are_package_data():
    files = sorted(p.name for p in ATLAS_DATA.iterdir())
    assert files == [
        "Schaefer2018_100Parcels_7Networks_order.tsv",
        "Schaefer2018_100Parcels_7Networks_order_FSLMNI152_1mm.nii.gz",
        "Schaefer2018_200Parcels_7Networks_order.tsv",
        "Schaefer2018_200Parcels_7Networks_order_FSLMNI152_1mm.nii.gz",
    ]
    if tomllib is None:
        pytest.skip("tomllib needs Python 3.11")
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    config = tomllib.loads(pyproject.read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["neurocl.io"]
    assert "atlas_data/*.nii.gz" in patterns and "atlas_data/*.tsv" in patterns
