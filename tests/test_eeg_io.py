"""EEG reading: channel names, regions, epoching and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from neurocl._core.errors import InputFileError, ParameterError
from neurocl.io.eeg import (
    REGIONS,
    channel_region,
    channel_table,
    file_entities,
    normalize_channel_name,
    parse_events,
    read_epochs,
)


@pytest.mark.parametrize(("raw", "std"), [
    ("Fc5.", "FC5"), ("C3..", "C3"), ("Cz..", "Cz"), ("Afz.", "AFz"), ("T10.", "T10"),
    ("Fpz.", "Fpz"), ("Iz..", "Iz"), ("EEG Fp1-REF", "Fp1"), ("poz", "POz"), ("T3", "T3"),
    ("EOG1", None), ("STI 014", None),
])
def test_normalize_channel_name(raw, std):
    assert normalize_channel_name(raw) == std


@pytest.mark.parametrize(("name", "region", "hemi"), [
    ("Fp1", "Frontal", "left"), ("AF4", "Frontal", "right"), ("FC3", "Central", "left"),
    ("Cz", "Central", "midline"), ("CP2", "Central", "right"), ("P7", "Parietal", "left"),
    ("PO8", "Occipital", "right"), ("Oz", "Occipital", "midline"), ("Iz", "Occipital", "midline"),
    ("T7", "Temporal", "left"), ("TP10", "Temporal", "right"), ("FT8", "Temporal", "right"),
    ("FFC1h", "Frontal", "left"), ("CCP2h", "Central", "right"), ("M1", "Temporal", "left"),
])
def test_channel_region(name, region, hemi):
    assert channel_region(name) == (region, hemi)


def test_channel_table():
    nodes = channel_table(["C3", "Cz", "C4", "O1"])
    assert list(nodes.columns) == ["name", "network", "x", "y", "z", "region", "hemisphere"]
    assert set(nodes["network"]) <= set(REGIONS)
    # head coordinates in mm: x to the right, z up
    assert nodes.x[0] < -30 < 30 < nodes.x[2] and nodes.z[1] > 80
    both = channel_table(["C3", "Cz"], networks="region-hemisphere")
    assert list(both["network"]) == ["Central-Left", "Central-Midline"]
    with pytest.raises(ParameterError):
        channel_table(["C3"], networks="lobe")


def test_parse_events_and_entities():
    assert parse_events("T1=left, T2=right") == {"T1": "left", "T2": "right"}
    assert parse_events("T0") == {"T0": "T0"}
    with pytest.raises(ParameterError):
        parse_events("T1=a,T1=b")
    assert file_entities("x/S001R04.edf") == {"subject_id": "S001", "session": None, "run": 4}
    assert file_entities("sub-07_ses-2_task-mi_run-03_eeg.vhdr") == {
        "subject_id": "sub-07", "session": "2", "run": 3}
    assert file_entities("rest.fif")["subject_id"] == "rest"


def _npz(path, rng, names=("C3", "Cz", "C4"), n_epochs=5, n_times=480, labels=True):
    content = {"data": rng.standard_normal((n_epochs, len(names), n_times)), "sfreq": 160.0,
               "ch_names": np.array(names)}
    if labels:
        content["labels"] = np.array(["a", "b"] * (n_epochs // 2) + ["a"] * (n_epochs % 2))
    np.savez(path, **content)
    return path


def test_npz_epochs(tmp_path, rng):
    path = _npz(tmp_path / "ep.npz", rng, names=("c3", "Cz.", "C4"))
    rec = read_epochs(path, l_freq=None)
    assert rec.data.shape == (5, 3, 480) and rec.ch_names == ["C3", "Cz", "C4"]
    assert rec.labels == ["a", "b", "a", "b", "a"]
    sel = read_epochs(path, events="b=right", tmin=0.5, tmax=2.0)
    assert sel.data.shape == (2, 3, 241) and sel.labels == ["right", "right"]
    with pytest.raises(InputFileError, match="runs past the epochs"):
        read_epochs(path, tmax=3.5)
    with pytest.raises(InputFileError, match="not found"):
        read_epochs(path, events="z=zz")


def test_unknown_channels(tmp_path, rng):
    path = _npz(tmp_path / "ep.npz", rng, names=("C3", "EOG1", "X7", "C4"))
    with pytest.raises(InputFileError, match="EOG1, X7.*--drop-unknown-channels"):
        read_epochs(path)
    rec = read_epochs(path, drop_unknown_channels=True)
    assert rec.ch_names == ["C3", "C4"] and rec.dropped_channels == ["EOG1", "X7"]


def test_unknown_file_type(tmp_path):
    with pytest.raises(InputFileError, match="unknown EEG file type"):
        read_epochs(tmp_path / "rec.txt")


def test_fif_with_annotations(tmp_path, rng):
    mne = pytest.importorskip("mne")
    info = mne.create_info(["Fz", "C3", "Cz", "C4", "Pz"], 128.0, "eeg")
    raw = mne.io.RawArray(rng.standard_normal((5, 128 * 30)) * 1e-5, info, verbose="error")
    raw.set_annotations(mne.Annotations([2, 8, 14, 20], [0, 0, 0, 0], ["go", "stop"] * 2))
    path = tmp_path / "sub-03_run-1_raw.fif"
    raw.save(path, verbose="error")
    rec = read_epochs(path, events="go,stop=halt", tmin=-0.5, tmax=2.0, baseline=(None, 0),
                      reference="average", resample=64.0)
    assert rec.data.shape == (4, 5, 161) and rec.labels == ["go", "halt", "go", "halt"]
    np.testing.assert_allclose(rec.data.sum(axis=1), 0, atol=1e-15)  # average reference
    np.testing.assert_allclose(rec.onsets, [2, 8, 14, 20])
    windows = read_epochs(path, fixed_length=4.0)
    assert windows.data.shape == (7, 5, 512) and windows.labels is None
    with pytest.raises(InputFileError, match="runs past the recording"):
        read_epochs(path, events="stop", tmin=0, tmax=12.0)
    with pytest.raises(ParameterError, match="--events"):
        read_epochs(path)
    with pytest.raises(ParameterError, match="--fixed-length"):
        read_epochs(path, fixed_length=2.0, tmax=1.0)


def test_real_physionet_run(test_data):
    path = test_data / "eeg_motor_imagery" / "S001R04.edf"
    rec = read_epochs(path, events="T1=left,T2=right", tmin=0, tmax=4)
    assert rec.data.shape == (15, 64, 641) and rec.sfreq == 160.0
    assert rec.labels.count("left") == 8 and rec.labels.count("right") == 7
    assert rec.ch_names[:3] == ["FC5", "FC3", "FC1"]
    with pytest.raises(InputFileError, match="T9 not found; the file's annotations are T0, T1"):
        read_epochs(path, events="T1=left,T9=x", tmax=4)
    with pytest.raises(InputFileError, match="runs past the end of the 'T1' events"):
        read_epochs(path, events="T1=left", tmax=5)
    rest = read_epochs(path, fixed_length=2.0, l_freq=1.0, h_freq=40.0, notch=60.0)
    assert rest.data.shape == (62, 64, 320)
