"""``neurocl build-fc eeg``: wiring, exit codes and output files."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from neurocl.cli.main import app
from neurocl.data.dataset import load_dataset

runner = CliRunner()
CENTRAL = "C3,Cz,C4,FC3,CP4"


def _run(*args):
    return runner.invoke(app, ["build-fc", "eeg", *map(str, args)])


def _files(test_data):
    root = test_data / "eeg_motor_imagery"
    return [root / f"S001R{r}.edf" for r in ("04", "08", "12")]


def test_motor_imagery_dataset(test_data, tmp_path):
    out = tmp_path / "mi.ds"
    res = _run(*_files(test_data), "--events", "T1=left,T2=right", "--tmin", "0", "--tmax", "4",
               "--method", "wpli", "--bands", "alpha,beta", "--channels", CENTRAL,
               "--out", out, "--json")
    assert res.exit_code == 0, res.output
    ds = load_dataset(out)
    assert ds.fc.shape == (45, 5, 5) and ds.fc_bands.shape == (45, 2, 5, 5)
    assert ds.timeseries.shape == (45, 641, 5)
    assert ds.subjects["label"].value_counts().to_dict() == {"left": 23, "right": 22}
    assert set(ds.subjects["run"]) == {4, 8, 12} and set(ds.subjects["subject_id"]) == {"S001"}
    assert ds.subjects["sample_id"].is_unique
    assert list(ds.nodes["name"]) == CENTRAL.split(",")
    assert set(ds.nodes["network"]) == {"Central"} and ds.nodes[["x", "y", "z"]].notna().all().all()
    assert ds.meta["modality"] == "eeg" and ds.meta["bands"] == ["alpha", "beta"]
    assert ds.meta["band"] == "alpha" and ds.meta["sfreq"] == 160.0
    np.testing.assert_array_equal(ds.fc, ds.fc_bands[:, 0])
    np.testing.assert_array_equal(ds.band_fc("beta"), ds.fc_bands[:, 1])


@pytest.mark.slow
def test_full_montage_with_rest(test_data, tmp_path):
    out = tmp_path / "mi90.ds"
    res = _run(*_files(test_data), "--events", "T0=rest,T1=left,T2=right", "--tmax", "4",
               "--bands", "alpha,beta", "--band", "beta", "--mode", "wavelet", "--out", out)
    assert res.exit_code == 0, res.output
    ds = load_dataset(out)
    assert ds.fc.shape == (90, 64, 64) and ds.meta["band"] == "beta"
    assert ds.subjects["label"].value_counts().to_dict() == {"rest": 45, "left": 23, "right": 22}


def test_npz_with_aec_and_hemisphere_networks(tmp_path, rng):
    path = tmp_path / "sub-02_run-1_epochs.npz"
    np.savez(path, data=rng.standard_normal((4, 3, 500)), sfreq=125.0,
             ch_names=np.array(["C3", "Cz", "C4"]), labels=np.array(["x", "y", "x", "y"]))
    out = tmp_path / "aec.ds"
    res = _run(path, "--method", "aec-orth", "--bands", "mu=8-12", "--networks",
               "region-hemisphere", "--out", out)
    assert res.exit_code == 0, res.output
    ds = load_dataset(out)
    assert ds.fc.shape == (4, 3, 3) and list(ds.subjects["label"]) == ["x", "y", "x", "y"]
    assert list(ds.nodes["network"]) == ["Central-Left", "Central-Midline", "Central-Right"]
    assert ds.subjects["subject_id"].iloc[0] == "sub-02"


def _bad(tmp_path, *args):
    out = tmp_path / "bad.ds"
    res = _run(*args, "--out", out)
    assert res.exit_code == 2, res.output
    assert "error:" in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert not out.exists() and not list(tmp_path.glob(".bad.ds*"))
    return res.output


def test_bad_input(test_data, tmp_path, rng):
    edf = _files(test_data)[0]
    (tmp_path / "rec.txt").write_text("x")
    assert "unknown EEG file type" in _bad(tmp_path, tmp_path / "rec.txt", "--fixed-length", "2")
    assert "T5 not found" in _bad(tmp_path, edf, "--events", "T1=left,T5=x", "--tmax", "4")
    assert "runs past" in _bad(tmp_path, edf, "--events", "T1=left", "--tmax", "6")
    assert "Nyquist" in _bad(tmp_path, edf, "--events", "T1", "--tmax", "4", "--channels",
                             "C3,C4", "--bands", "high=70-90")
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(a, data=rng.standard_normal((2, 3, 400)), sfreq=160.0,
             ch_names=np.array(["C3", "Cz", "X1"]))
    assert "X1" in _bad(tmp_path, a)
    np.savez(b, data=rng.standard_normal((2, 3, 400)), sfreq=160.0,
             ch_names=np.array(["C3", "Cz", "Pz"]))
    assert "other channels" in _bad(tmp_path, a, b, "--drop-unknown-channels")
    flat = rng.standard_normal((2, 3, 400))
    flat[:, 1] = 0
    np.savez(b, data=flat, sfreq=160.0, ch_names=np.array(["C3", "Cz", "Pz"]))
    assert "Cz carries no signal" in _bad(tmp_path, b)
