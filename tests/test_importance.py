"""Node importance (occlusion, Haufe, integrated gradients) and the brain maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from test_ablation import PLANTED, FlatEncoder, simulate

from neurocl._core.errors import ParameterError
from neurocl.data.dataset import FCDataset
from neurocl.evaluate.brainmaps import paint_parcels
from neurocl.evaluate.importance import importance, integrated_gradients
from neurocl.io.atlases import Atlas


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> FCDataset:
    return simulate(tmp_path_factory.mktemp("imp") / "sim.ds", seed=3)


class TorchFlatEncoder(FlatEncoder):
    """The flat encoder, also reachable as a torch module (as a run's ``load_encoder``)."""

    def load_encoder(self, *, device: str = "cpu") -> torch.nn.Module:
        n = 23

        class Flat(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                rows, cols = np.triu_indices(n, 1)
                self.register_buffer("rows", torch.as_tensor(rows))
                self.register_buffer("cols", torch.as_tensor(cols))
                self.dummy = torch.nn.Parameter(torch.zeros(1))

            def forward(self, fc: torch.Tensor) -> torch.Tensor:
                return fc[:, self.rows, self.cols] + 0 * self.dummy

        return Flat().to(device)


def test_integrated_gradients_known_answers() -> None:
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(4, 5, generator=gen)
    x = torch.randn(4, 5, generator=gen)
    # linear function: attributions are exactly w * x (zero baseline)
    attr = integrated_gradients(lambda b: (b * w).sum(dim=(1, 2)), x, steps=3)
    torch.testing.assert_close(attr, w * x)
    # completeness for a nonlinear function
    def f(b: torch.Tensor) -> torch.Tensor:
        return torch.tanh(b).sum(dim=(1, 2)) ** 2

    attr = integrated_gradients(f, x, steps=400)
    total = f(x[None])[0] - f(torch.zeros(1, 4, 5))[0]
    assert float(attr.sum()) == pytest.approx(float(total), rel=1e-3)


def test_planted_network_ranks_first(planted: FCDataset) -> None:
    enc = TorchFlatEncoder()
    res = importance(planted, label="group", encoder=enc, cv=3, repeats=1, ig_steps=4)
    assert res.columns == ["occlusion_encoder", "ig_encoder", "occlusion_raw_fc",
                           "haufe_raw_fc"]
    assert enc.calls == 1 + planted.n_nodes
    member = planted.nodes["network"].eq(PLANTED).to_numpy()
    for col in res.columns:
        nets = res.networks.sort_values(f"{col}_mean", ascending=False)
        assert nets.iloc[0]["network"] == PLANTED, (col, nets)
        top = res.nodes[col].to_numpy().argsort()[::-1][: member.sum()]
        assert member[top].sum() >= member.sum() - 1, (col, res.top(col))
    assert set(res.edges) == {"ig_encoder", "haufe_raw_fc"}
    haufe = res.edges["haufe_raw_fc"]
    np.testing.assert_allclose(haufe, haufe.T)
    np.testing.assert_allclose(res.nodes["haufe_raw_fc"], np.abs(haufe).sum(axis=1))
    # the planted edges are larger in the class coded 1, so their pattern is positive
    block = haufe[np.ix_(member, member)][np.triu_indices(member.sum(), 1)]
    assert (block > 0).mean() > 0.9
    sums = res.networks.set_index("network")
    for col in res.columns:
        np.testing.assert_allclose(sums[f"{col}_sum"] / sums["n_nodes"], sums[f"{col}_mean"])


def test_ig_skipped_without_torch_module(planted: FCDataset) -> None:
    res = importance(planted, label="group", encoder=FlatEncoder(), methods=["ig", "haufe"],
                     cv=3)
    assert res.columns == ["haufe_raw_fc"]
    assert any("ig skipped" in n for n in res.info["notes"])
    res = importance(planted, label="group", methods=["ig", "haufe"], cv=3)
    assert any("none was given" in n for n in res.info["notes"])
    with pytest.raises(ParameterError, match="unknown importance method 'saliency'"):
        importance(planted, label="group", methods=["saliency"])


def _labels_image(tmp_path: Path) -> tuple[Path, np.ndarray]:
    import nibabel as nib

    data = np.zeros((4, 5, 6), dtype=np.int16)
    data[0:2, :, :] = 3
    data[2, 0:2, :] = 7
    data[3, :, 0:3] = 9
    path = tmp_path / "labels.nii.gz"
    nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0])).to_filename(path)
    return path, data


def test_paint_parcels_known_answer(tmp_path: Path) -> None:
    path, data = _labels_image(tmp_path)
    img = paint_parcels(path, np.array([9, 3, 7]), np.array([-1.5, 2.0, 0.25]))
    out = np.asarray(img.dataobj)
    assert out.shape == data.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[data == 3], 2.0)
    np.testing.assert_array_equal(out[data == 7], 0.25)
    np.testing.assert_array_equal(out[data == 9], -1.5)
    np.testing.assert_array_equal(out[data == 0], 0.0)
    with pytest.raises(ParameterError, match="2 node values for 3 atlas labels"):
        paint_parcels(path, np.array([9, 3, 7]), np.array([1.0, 2.0]))


def test_pictures_written_and_non_empty(planted: FCDataset, tmp_path: Path) -> None:
    res = importance(planted, label="group", methods=["haufe"], cv=3)
    path, _ = _labels_image(tmp_path)
    n = planted.n_nodes
    atlas = Atlas(name="tiny", kind="labels", nodes=planted.nodes, image=str(path),
                  label_values=np.array([3, 7, 9] + [0] * (n - 3)))
    out = tmp_path / "maps"
    out.mkdir()
    files = res.write(out, labels_atlas=atlas, top_edges=5)
    names = {f.name for f in files}
    assert {"importance_nodes.csv", "importance_networks.csv", "importance.json",
            "edges_haufe_raw_fc.npy", "markers_haufe_raw_fc.png",
            "connectome_haufe_raw_fc.png", "importance_haufe_raw_fc.nii.gz",
            "parcels_haufe_raw_fc.png"} <= names
    for f in files:
        assert f.stat().st_size > 0
        if f.suffix == ".png":
            assert f.read_bytes()[:4] == b"\x89PNG"
    table = pd.read_csv(out / "importance_nodes.csv")
    assert list(table.columns[:5]) == ["name", "network", "x", "y", "z"]


def test_eeg_topomap(tmp_path: Path) -> None:
    import mne

    montage = mne.channels.make_standard_montage("colin27_1020")
    names = ["Fz", "Cz", "Pz", "Oz", "C3", "C4", "F3", "F4", "P3", "P4", "O1", "O2", "T7",
             "T8", "F7", "F8", "P7", "P8", "Fp1", "Fp2", "FC1", "FC2", "CP1"]
    pos = montage.get_positions()["ch_pos"]
    nets = (["Frontal"] * 5 + ["Default"] * 6 + ["Central"] * 5 + ["Occipital"] * 5
            + ["None"] * 2)
    ds = simulate(tmp_path / "eeg.ds", seed=5, networks=nets)
    nodes = ds.nodes.copy()
    nodes["name"] = names
    xyz = np.array([pos[c] for c in names]) * 1000.0  # in mm
    nodes[["x", "y", "z"]] = xyz
    nodes.to_csv(ds.path / "nodes.tsv", sep="\t", index=False)
    meta = ds.meta | {"modality": "eeg"}
    import json

    (ds.path / "meta.json").write_text(json.dumps(meta))
    from neurocl.data.dataset import load_dataset

    eeg = load_dataset(ds.path)
    res = importance(eeg, label="group", methods=["haufe"], cv=3)
    out = tmp_path / "maps"
    out.mkdir()
    files = res.write(out, modality="eeg")
    topo = out / "topomap_haufe_raw_fc.png"
    assert topo in files and topo.stat().st_size > 0
    assert not (out / "markers_haufe_raw_fc.png").exists()
