"""CLI wiring for `neurocl build-fc fmri` on images / fMRIPrep folders and `neurocl atlases`."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neurocl import load_dataset
from neurocl.cli.main import app

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "fmriprep_rest01"
SHAPE = (9, 8, 7)
AFFINE = np.array([[4.0, 0, 0, -16], [0, 4.0, 0, -14], [0, 0, 4.0, -12], [0, 0, 0, 1]])


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def images(tmp_path: Path, rng: np.random.Generator):
    lab = np.zeros(SHAPE, dtype=np.int16)
    lab[1:4, 1:7, 1:6] = 1
    lab[4:6, 1:7, 1:6] = 2
    lab[6:8, 1:7, 1:6] = 3
    atlas = tmp_path / "my_labels.nii.gz"
    nib.save(nib.Nifti1Image(lab, AFFINE), atlas)
    pd.DataFrame({"index": [1, 2, 3], "name": ["a", "b", "c"],
                  "network": ["Vis", "Default", "Cont"]}).to_csv(
        tmp_path / "my_labels.tsv", sep="\t", index=False)
    signals = rng.standard_normal((29, 3)).cumsum(axis=0)
    files = []
    for i in range(2):
        data = np.zeros((*SHAPE, 29), dtype=np.float32)
        for j in range(3):
            vox = lab == j + 1
            data[vox] = signals[:, j] + rng.normal(0, 0.3, (int(vox.sum()), 29))
        path = tmp_path / f"sub-0{i + 1}_bold.nii.gz"
        nib.save(nib.Nifti1Image(data, AFFINE), path)
        files.append(path)
    return tmp_path, atlas, files


def test_atlases_table_and_json():
    res = run("atlases", "--json")
    assert res.exit_code == 0, res.output
    items = {a["name"]: a for a in json.loads(res.stdout)}
    assert items["schaefer200"]["n_nodes"] == 200 and items["seitzman2018"]["kind"] == "spheres"
    res = run("atlases")
    assert res.exit_code == 0 and "dosenbach2010" in res.stdout and "schaefer100" in res.stdout


def test_build_from_nifti_with_user_atlas(images):
    tmp, atlas, files = images
    out = tmp / "mine.ds"
    res = run("build-fc", "fmri", *files, "--atlas", atlas, "--networks",
              tmp / "my_labels.tsv", "--t-r", "2", "--detrend", "--out", out, "--json")
    assert res.exit_code == 0, res.output
    ds = load_dataset(out)
    assert ds.fc.shape == (2, 3, 3)
    assert ds.nodes["network"].tolist() == ["Visual", "Default", "Frontoparietal"]
    assert ds.subjects["sample_id"].tolist() == ["sub-01", "sub-02"]
    assert ds.meta["t_r"] == 2.0 and ds.meta["cleaning"]["detrend"] is True
    assert json.loads(res.stdout)["n_nodes"] == 3


def test_build_from_fmriprep_folder(tmp_path):
    pheno = tmp_path / "participants.tsv"
    pd.DataFrame({"participant_id": ["sub-rest01"], "age": [31]}).to_csv(pheno, sep="\t",
                                                                         index=False)
    out = tmp_path / "rest.ds"
    res = run("build-fc", "fmri", SAMPLE, "--space", "MNI152NLin6Asym", "--task", "rest",
              "--atlas", "schaefer100", "--confounds", "simple", "--fd-threshold", "0.5",
              "--phenotype", pheno, "--n-jobs", "1", "--out", out, "--json")
    assert res.exit_code == 0, res.output
    ds = load_dataset(out)
    assert ds.fc.shape == (2, 100, 100)
    assert ds.subjects["run"].astype(str).tolist() == ["1", "2"]
    assert ds.subjects["mean_fd"].notna().all() and (ds.subjects["age"] == 31).all()
    assert ds.meta["space"] == "MNI152NLin6Asym" and ds.meta["atlas"] == "schaefer100"
    assert ds.nodes["network"].iloc[0] == "Visual"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--atlas", "aal"], "schaefer100"),
        (["--atlas", "schaefer100", "--task", "movie"], "--task movie matches no run"),
    ],
)
def test_folder_errors_leave_nothing(tmp_path, extra, message):
    out = tmp_path / "x.ds"
    res = run("build-fc", "fmri", SAMPLE, *extra, "--out", out)
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) <= 3  # one (soft-wrapped) line
    assert not out.exists() and not list(tmp_path.glob(".x.ds*"))


def test_image_errors_leave_nothing(images):
    tmp, atlas, files = images
    out = tmp / "bad.ds"
    three_d = tmp / "mask.nii.gz"
    nib.save(nib.Nifti1Image(np.ones(SHAPE, dtype=np.int16), AFFINE), three_d)
    cut = tmp / "sub-09_bold.nii.gz"
    cut.write_bytes(files[0].read_bytes()[:400])
    other = tmp / "sub-03_bold.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((9, 8, 6, 29), np.float32), AFFINE), other)
    far_affine = AFFINE.copy()
    far_affine[:3, 3] += 400.0
    far = tmp / "sub-04_bold.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(nib.load(files[0]).dataobj), far_affine), far)
    cases = [
        ([three_d], "3D image"),
        ([cut], "sub-09_bold.nii.gz"),
        ([files[0], other], "different voxel grid"),
        ([far], "not in the atlas's space"),
    ]
    for inputs, message in cases:
        chosen = "schaefer100" if message.startswith("not in") else atlas
        res = run("build-fc", "fmri", *inputs, "--atlas", chosen, "--out", out)
        assert res.exit_code == 2, (message, res.output)
        assert message in res.output, res.output
        assert not out.exists() and not list(tmp.glob(".bad.ds*"))


def test_image_options_refused_for_roi_inputs(tmp_path, rng):
    ts = tmp_path / "sub-01_timeseries.tsv"
    pd.DataFrame(rng.standard_normal((40, 4))).to_csv(ts, sep="\t", index=False)
    res = run("build-fc", "fmri", ts, "--atlas", "schaefer100", "--out", tmp_path / "x.ds")
    assert res.exit_code == 2 and "drop those options" in res.output
