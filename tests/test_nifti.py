"""Signals from 4D NIfTI images: known answers against nilearn's maskers and painted data."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurocl._core.errors import InputFileError, ParameterError
from neurocl.io import nifti
from neurocl.io.atlases import load_atlas
from neurocl.io.nifti import extract_image_signals, read_header

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "fmriprep_rest01"
RUN1 = (SAMPLE / "sub-rest01" / "func"
        / "sub-rest01_task-rest_run-1_space-MNI152NLin6Asym_res-4_desc-preproc_bold.nii.gz")

# a small grid with a different size on every axis, 3 mm voxels, MNI-like origin
SHAPE = (13, 11, 9)
AFFINE = np.array([[3.0, 0, 0, -18], [0, 3.0, 0, -15], [0, 0, 3.0, -12], [0, 0, 0, 1]])
N_TIMES = 37


def labels_volume() -> np.ndarray:
    """Five labels (values 2, 3, 5, 7, 11) in slabs, 0 elsewhere."""
    lab = np.zeros(SHAPE, dtype=np.int16)
    lab[1:5, 1:10, 1:8] = 2
    lab[5:8, 1:5, 1:8] = 3
    lab[5:8, 5:10, 1:8] = 5
    lab[8:12, 1:10, 1:4] = 7
    lab[8:12, 1:10, 4:8] = 11
    return lab


def paint(lab: np.ndarray, signals: np.ndarray, rng: np.random.Generator,
          noise: float = 0.5) -> np.ndarray:
    values = np.unique(lab[lab > 0])
    data = np.zeros((*SHAPE, signals.shape[0]))
    sd = signals.std(axis=0)
    for j, v in enumerate(values):
        vox = lab == v
        data[vox] = signals[:, j] + rng.normal(0, noise * sd[j], (int(vox.sum()), len(signals)))
    return data


def save(data: np.ndarray, path: Path, affine: np.ndarray = AFFINE, t_r: float = 2.5) -> Path:
    img = nib.Nifti1Image(data.astype(np.float32), affine)
    img.header.set_xyzt_units("mm", "sec")
    if data.ndim == 4:
        img.header["pixdim"][4] = t_r
    nib.save(img, path)
    return path


@pytest.fixture
def painted(tmp_path: Path, rng: np.random.Generator):
    lab = labels_volume()
    atlas = save(lab.astype(np.float32), tmp_path / "atlas.nii.gz")
    signals = 100 + rng.standard_normal((N_TIMES, 5)).cumsum(axis=0)
    files = []
    for i in range(3):
        path = tmp_path / f"sub-0{i + 1}_task-rest_bold.nii.gz"
        files.append(save(paint(lab, signals, rng), path))
    return atlas, files, signals, lab


def test_labels_match_nilearn_and_recover_painted(painted, tmp_path):
    from nilearn import signal
    from nilearn.maskers import NiftiLabelsMasker

    atlas, files, signals, _ = painted
    res = extract_image_signals(files, atlas=atlas, detrend=True, standardize=True)
    assert res.subjects["sample_id"].tolist() == ["sub-01_task-rest", "sub-02_task-rest",
                                                  "sub-03_task-rest"]
    assert res.subjects["subject_id"].tolist() == ["sub-01", "sub-02", "sub-03"]
    assert res.report["t_r"] == pytest.approx(2.5)
    for f, got in zip(files, res.signals, strict=True):
        ref = NiftiLabelsMasker(labels_img=str(atlas), detrend=True,
                                standardize="zscore_sample").fit_transform(str(f))
        np.testing.assert_allclose(got, ref, atol=1e-4)
        truth = signal.clean(signals, detrend=True, standardize=None)
        r = [np.corrcoef(got[:, j], truth[:, j])[0, 1] for j in range(5)]
        assert min(r) > 0.95
    assert res.nodes["name"].tolist() == [f"label-{v}" for v in (2, 3, 5, 7, 11)]


def test_atlas_resampled_once_per_dataset(painted, monkeypatch):
    atlas, files, _, _ = painted
    calls = []
    real = nifti._resample_to_grid

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(nifti, "_resample_to_grid", counting)
    extract_image_signals(files, atlas=atlas)
    assert len(calls) == 1
    extract_image_signals(files[:1], atlas=atlas)
    assert len(calls) == 2  # once per dataset, whatever the number of images


def test_parallel_equals_serial(painted):
    atlas, files, _, _ = painted
    serial = extract_image_signals(files, atlas=atlas, n_jobs=1)
    parallel = extract_image_signals(files, atlas=atlas, n_jobs=2)
    for a, b in zip(serial.signals, parallel.signals, strict=True):
        np.testing.assert_array_equal(a, b)


def test_spheres_match_nilearn(painted, tmp_path):
    from nilearn.maskers import NiftiSpheresMasker

    _, files, _, _ = painted
    coords = pd.DataFrame({"x": [-9.0, 3.0, 12.0], "y": [0.0, -6.0, 6.0], "z": [0.0, 3.0, 6.0],
                           "network": ["Vis", "Cont", "Default"]})
    table = tmp_path / "coords.tsv"
    coords.to_csv(table, sep="\t", index=False)
    res = extract_image_signals(files[:1], atlas=table, detrend=True)
    ref = NiftiSpheresMasker(seeds=coords[["x", "y", "z"]].to_numpy().tolist(), radius=5.0,
                             detrend=True, standardize=None,
                             allow_overlap=True).fit_transform(str(files[0]))
    np.testing.assert_allclose(res.signals[0], ref, atol=1e-4)
    assert res.nodes["network"].tolist() == ["Visual", "Frontoparietal", "Default"]


def test_maps_match_nilearn(painted, tmp_path, rng):
    from nilearn.maskers import NiftiMapsMasker

    _, files, _, lab = painted
    maps = np.stack([(lab == v) * rng.uniform(0.5, 1, SHAPE) for v in (2, 5, 11)], axis=-1)
    path = save(maps, tmp_path / "maps.nii.gz")
    res = extract_image_signals(files[:1], atlas=path)
    ref = NiftiMapsMasker(maps_img=str(path), standardize=None).fit_transform(str(files[0]))
    np.testing.assert_allclose(res.signals[0], ref, rtol=1e-4, atol=1e-3)
    assert res.meta["atlas_kind"] == "maps"


def test_uncovered_regions_dropped_or_stop(painted, tmp_path):
    atlas, files, _, lab = painted
    data = np.asarray(nib.load(files[1]).dataobj)
    data[lab == 5] = 0.0  # label 5 lies outside this run's brain
    save(data, files[1])
    res = extract_image_signals(files, atlas=atlas, uncovered="drop")
    assert all(s.shape[1] == 4 for s in res.signals)
    assert "label-5" not in res.nodes["name"].tolist()
    assert res.report["coverage"]["uncovered"][0]["samples"] == ["sub-02_task-rest"]
    with pytest.raises(InputFileError, match="--drop-uncovered") as err:
        extract_image_signals(files, atlas=atlas, uncovered="stop")
    assert "label-5" in str(err.value) and files[1].name in str(err.value)


def test_confounds_and_scrubbing_from_user_tsv(painted, tmp_path, rng):
    from nilearn import signal

    atlas, files, _, _ = painted
    conf = pd.DataFrame({"a": rng.standard_normal(N_TIMES), "b": rng.standard_normal(N_TIMES)})
    fd = rng.uniform(0, 0.3, N_TIMES)
    fd[[4, 20, 21]] = 0.9
    conf["framewise_displacement"] = fd
    path = tmp_path / "conf.tsv"
    conf.to_csv(path, sep="\t", index=False)
    res = extract_image_signals(files[:1], atlas=atlas, confounds=path, fd_threshold=0.5)
    raw = extract_image_signals(files[:1], atlas=atlas).signals[0]
    keep = np.setdiff1d(np.arange(N_TIMES), [4, 20, 21])
    ref = signal.clean(raw.astype(float)[keep], confounds=conf[["a", "b"]].to_numpy()[keep],
                       detrend=False, standardize=None, standardize_confounds=True)
    np.testing.assert_allclose(res.signals[0], ref, atol=1e-3)
    row = res.subjects.iloc[0]
    assert row["n_scrubbed"] == 3 and row["n_frames_kept"] == N_TIMES - 3
    assert row["mean_fd"] == pytest.approx(fd.mean())


def test_bad_inputs(painted, tmp_path):
    atlas, files, _, lab = painted
    three_d = save(lab.astype(np.float32), tmp_path / "anat.nii.gz")
    with pytest.raises(InputFileError, match="3D image") as err:
        extract_image_signals([three_d], atlas=atlas)
    assert "anat.nii.gz" in str(err.value)

    raw = gzip.decompress(files[0].read_bytes())
    truncated = tmp_path / "cut.nii.gz"
    truncated.write_bytes(gzip.compress(raw)[: len(gzip.compress(raw)) // 2])
    with pytest.raises(InputFileError, match="truncated|cannot read") as err:
        extract_image_signals([truncated], atlas=atlas)
    assert "cut.nii.gz" in str(err.value)

    junk = tmp_path / "junk.nii.gz"
    junk.write_bytes(b"not a nifti at all")
    with pytest.raises(InputFileError, match="cannot read"):
        read_header(junk)

    other = np.zeros((12, 11, 9, N_TIMES), dtype=np.float32)
    odd = save(other, tmp_path / "odd_bold.nii.gz")
    with pytest.raises(InputFileError, match="different voxel grid") as err:
        extract_image_signals([files[0], odd], atlas=atlas)
    assert "odd_bold.nii.gz" in str(err.value) and "resample" in str(err.value)

    far = AFFINE.copy()
    far[:3, 3] += 500.0
    away = save(np.asarray(nib.load(files[0]).dataobj), tmp_path / "away_bold.nii.gz", far)
    with pytest.raises(InputFileError, match="does not overlap"):
        extract_image_signals([away], atlas="schaefer100")

    with pytest.raises(ParameterError, match="schaefer100, schaefer200"):
        extract_image_signals(files, atlas="aal")


def test_band_pass_needs_t_r(painted, tmp_path):
    atlas, files, _, _ = painted
    data = np.asarray(nib.load(files[0]).dataobj)
    no_tr = save(data, tmp_path / "notr_bold.nii.gz", t_r=0.0)
    with pytest.raises(InputFileError, match="--t-r"):
        extract_image_signals([no_tr], atlas=atlas, low_pass=0.1)
    res = extract_image_signals([no_tr], atlas=atlas, low_pass=0.1, t_r=2.0)
    assert res.report["t_r"] == 2.0


def test_sample_recovers_real_painted_signals(test_data):
    """The shipped sample: every Schaefer-100 parcel (>= 10 voxels) gets its signal back."""
    real = pd.read_csv(test_data / "rest_single_subject" / "timeseries.tsv", sep="\t")
    res = extract_image_signals([RUN1], atlas="schaefer100")
    got = res.signals[0]
    assert got.shape == (75, 100)
    img = nib.load(RUN1)
    grid = nifti.atlas_on_grid(load_atlas("schaefer100"), img.shape, img.affine)
    sizes = np.array([v.size for v in grid.voxels])
    assert (sizes >= 10).sum() == 100
    r = np.array([np.corrcoef(got[:, j], real.iloc[:75, j])[0, 1] for j in range(100)])
    assert r[sizes >= 10].min() > 0.99


def test_tiny_nifti_real_headers(test_data):
    """Real crops: an MNI slab loads with the regions it covers; scanner space is refused."""
    slab = test_data / "tiny_nifti" / "nipy_functional.nii.gz"
    header = read_header(slab)
    assert header.shape == (17, 21, 3, 20)
    res = extract_image_signals([slab], atlas="dosenbach2010")
    assert 2 <= res.nodes.shape[0] < 160
    assert np.isfinite(res.signals[0]).all() and res.signals[0].shape[0] == 20
    scanner = test_data / "tiny_nifti" / "nitime_fmri1.nii.gz"
    assert read_header(scanner).shape == (10, 10, 18, 40)
    with pytest.raises(InputFileError, match="not in the atlas's space") as err:
        extract_image_signals([scanner], atlas="dosenbach2010")
    assert "nitime_fmri1.nii.gz" in str(err.value)
