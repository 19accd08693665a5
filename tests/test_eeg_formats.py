"""EEG file formats: BrainVision, EEGLAB (continuous and epoched) and ``-epo.fif`` epochs.

Each file is exported from the same real PhysioNet recording (S001R04, 64 channels, 160 Hz)
with MNE's writers, then read back through :func:`neurocl.io.eeg.read_epochs`; the epochs,
labels and channel names must equal those read from the EDF original, within the storage
precision of each format (float32 samples).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurocl.io.eeg import read_epochs

mne = pytest.importorskip("mne")

EVENTS = "T1=left,T2=right"


@pytest.fixture(scope="module")
def edf(test_data: Path) -> Path:
    return test_data / "eeg_motor_imagery" / "S001R04.edf"


@pytest.fixture(scope="module")
def reference(edf: Path):  # noqa: ANN201
    return read_epochs(edf, events=EVENTS, tmin=0, tmax=4)


def _same_epochs(got, want, *, rtol: float = 1e-5) -> None:  # noqa: ANN001
    assert got.ch_names == want.ch_names
    assert got.labels == want.labels
    assert got.sfreq == want.sfreq
    assert got.data.shape == want.data.shape == (15, 64, 641)
    scale = np.abs(want.data).max()
    np.testing.assert_allclose(got.data, want.data, atol=rtol * scale)


def _raw(edf: Path):  # noqa: ANN202
    return mne.io.read_raw_edf(edf, preload=True, verbose="error")


def test_brainvision_matches_edf(edf: Path, reference, tmp_path: Path) -> None:  # noqa: ANN001
    pytest.importorskip("pybv")
    path = tmp_path / "S001R04.vhdr"
    mne.export.export_raw(path, _raw(edf), fmt="brainvision", verbose="error")
    _same_epochs(read_epochs(path, events=EVENTS, tmin=0, tmax=4), reference)


def test_eeglab_continuous_matches_edf(edf: Path, reference, tmp_path: Path) -> None:  # noqa: ANN001
    pytest.importorskip("eeglabio")
    path = tmp_path / "S001R04.set"
    mne.export.export_raw(path, _raw(edf), fmt="eeglab", verbose="error")
    _same_epochs(read_epochs(path, events=EVENTS, tmin=0, tmax=4), reference)


def _mne_epochs(edf: Path):  # noqa: ANN202
    """The imagery epochs cut by MNE from the EDF, with the default 1 Hz high-pass applied."""
    raw = _raw(edf)
    raw.filter(1.0, None, verbose="error")
    events, ids = mne.events_from_annotations(raw, event_id={"T1": 1, "T2": 2},
                                              verbose="error")
    return mne.Epochs(raw, events, event_id={"T1": 1, "T2": 2}, tmin=0, tmax=4,
                      baseline=None, preload=True, verbose="error")


def test_epochs_fif_and_eeglab(edf: Path, reference, tmp_path: Path) -> None:  # noqa: ANN001
    """Epoched files: labels come from the event names, renamed by --events."""
    epochs = _mne_epochs(edf)
    fif = tmp_path / "S001R04-epo.fif"
    epochs.save(fif, verbose="error")
    # already filtered when epoched: no second high-pass
    got = read_epochs(fif, events=EVENTS, l_freq=None)
    assert got.labels == reference.labels and got.ch_names == reference.ch_names
    assert got.data.shape == reference.data.shape
    # MNE filters the whole recording, neurocl too: the same signals
    np.testing.assert_allclose(got.data, reference.data, atol=1e-5 * np.abs(reference.data).max())
    # only the labels asked for are kept
    left = read_epochs(fif, events="T1=left", l_freq=None)
    assert left.labels == ["left"] * 8 and left.data.shape[0] == 8

    pytest.importorskip("eeglabio")
    setfile = tmp_path / "S001R04_epochs.set"
    mne.export.export_epochs(setfile, epochs, fmt="eeglab", verbose="error")
    got = read_epochs(setfile, events=EVENTS, l_freq=None)
    assert got.labels == reference.labels and got.ch_names == reference.ch_names
    np.testing.assert_allclose(got.data, reference.data, atol=1e-5 * np.abs(reference.data).max())


def test_epochs_fif_cropped_and_refiltered(edf: Path, tmp_path: Path) -> None:
    epochs = _mne_epochs(edf)
    fif = tmp_path / "S001R04-epo.fif"
    epochs.save(fif, verbose="error")
    cropped = read_epochs(fif, events=EVENTS, tmin=0.5, tmax=2.5, l_freq=None)
    assert cropped.data.shape == (15, 64, 321)
    np.testing.assert_allclose(cropped.data, epochs.get_data()[..., 80:401], rtol=1e-6,
                               atol=1e-12)


def test_marker_codes_without_their_type() -> None:
    from neurocl._core.errors import InputFileError
    from neurocl.io.eeg import _match_codes

    present = ["Comment/T1", "New Segment/", "Stimulus/S  1", "Stimulus/S 12"]
    got = _match_codes({"T1": "left", "S1": "go", "Stimulus/S 12": "stop"}, present,
                       Path("x.vhdr"))
    assert got == {"Comment/T1": "left", "Stimulus/S  1": "go", "Stimulus/S 12": "stop"}
    with pytest.raises(InputFileError, match="matches the annotations Response/S  1, Stimulus"):
        _match_codes({"S1": "go"}, ["Response/S  1", "Stimulus/S  1"], Path("x.vhdr"))
