"""fMRIPrep folders: runs found and filtered, confounds and FD used, motion rules applied."""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurocl._core.errors import InputFileError
from neurocl.io.confounds import fmriprep_confounds_file, run_confounds
from neurocl.io.fmriprep import find_fmriprep_runs
from neurocl.io.nifti import extract_image_signals

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "fmriprep_rest01"
FUNC = "sub-rest01/func"
SPACE = "MNI152NLin6Asym"


def bold(root: Path, run: int, space: str = SPACE) -> Path:
    name = f"sub-rest01_task-rest_run-{run}_space-{space}_res-4_desc-preproc_bold.nii.gz"
    return root / FUNC / name


def conf(root: Path, run: int) -> Path:
    return root / FUNC / f"sub-rest01_task-rest_run-{run}_desc-confounds_timeseries.tsv"


@pytest.fixture
def two_spaces(tmp_path: Path) -> Path:
    """The sample plus run-1 copied into a second space and a second task."""
    root = tmp_path / "deriv"
    shutil.copytree(SAMPLE, root)
    shutil.copy(bold(root, 1), bold(root, 1, "T1w"))
    shutil.copy(bold(root, 1), root / FUNC / bold(root, 1).name.replace("task-rest", "task-nback"))
    shutil.copy(conf(root, 1), root / FUNC / conf(root, 1).name.replace("task-rest", "task-nback"))
    return root


def test_runs_found_with_ids_confounds_and_masks():
    runs = find_fmriprep_runs(SAMPLE)
    assert [r.ids["sample_id"] for r in runs] == ["sub-rest01_task-rest_run-1",
                                                  "sub-rest01_task-rest_run-2"]
    assert {r.ids["subject_id"] for r in runs} == {"sub-rest01"}
    assert [r.ids["run"] for r in runs] == ["1", "2"]
    assert all(r.space == SPACE and r.task == "rest" for r in runs)
    assert [r.confounds for r in runs] == [conf(SAMPLE, 1), conf(SAMPLE, 2)]
    assert all(r.mask is not None and r.mask.is_file() for r in runs)
    assert fmriprep_confounds_file(bold(SAMPLE, 2)) == conf(SAMPLE, 2)


def test_filters_by_space_and_task(two_spaces):
    with pytest.raises(InputFileError, match="several spaces") as err:
        find_fmriprep_runs(two_spaces)
    assert "T1w" in str(err.value) and "--space" in str(err.value)
    runs = find_fmriprep_runs(two_spaces, space=SPACE, task="rest")
    assert [r.path.name for r in runs] == [bold(two_spaces, 1).name, bold(two_spaces, 2).name]
    assert [r.path for r in find_fmriprep_runs(two_spaces, space="T1w")] == [
        bold(two_spaces, 1, "T1w")]
    nback = find_fmriprep_runs(two_spaces, space=f"space-{SPACE}", task="task-nback")
    assert len(nback) == 1 and nback[0].task == "nback"


def test_filters_that_match_nothing_are_named(two_spaces, tmp_path):
    with pytest.raises(InputFileError, match=r"--task movie matches no run \(present: nback"):
        find_fmriprep_runs(two_spaces, space=SPACE, task="movie")
    with pytest.raises(InputFileError, match="--space MNI152NLin2009cAsym matches no run"):
        find_fmriprep_runs(two_spaces, space="MNI152NLin2009cAsym")
    with pytest.raises(InputFileError, match="--session 2 matches no run"):
        find_fmriprep_runs(two_spaces, space=SPACE, session="2")
    with pytest.raises(InputFileError, match="no run matches all"):
        find_fmriprep_runs(two_spaces, space="T1w", task="nback")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match="desc-preproc_bold"):
        find_fmriprep_runs(empty)


def test_fd_scrubbing_and_mean_fd_from_confounds():
    table = pd.read_csv(conf(SAMPLE, 1), sep="\t", na_values="n/a")
    fd = table["framewise_displacement"].to_numpy()
    rc = run_confounds(bold(SAMPLE, 1), len(table), "simple", fd_threshold=0.3)
    assert rc.mean_fd == pytest.approx(np.nanmean(fd))
    expected = np.flatnonzero(~(np.nan_to_num(fd) > 0.3))
    np.testing.assert_array_equal(rc.sample_mask, expected)
    assert rc.n_scrubbed == len(table) - len(expected) > 0
    assert {"trans_x", "rot_z", "csf", "white_matter"} <= set(rc.regressors.columns)


def test_planted_confound_is_removed(tmp_path, rng):
    """A slow drift added to every voxel and listed as 'csf' is regressed out by 'simple'."""
    root = tmp_path / "deriv"
    shutil.copytree(SAMPLE, root)
    img = nib.load(bold(root, 1))
    data = np.asarray(img.dataobj, dtype=np.float64)
    n = data.shape[3]
    drift = rng.standard_normal(n).cumsum()
    drift = (drift - drift.mean()) / drift.std()
    brain = data.std(axis=3) > 0
    clean_data = data.copy()
    data[brain] += 40.0 * drift  # larger than any parcel signal
    nib.save(nib.Nifti1Image(data.astype(np.float32), img.affine, img.header), bold(root, 1))
    table = pd.read_csv(conf(root, 1), sep="\t", na_values="n/a")
    table["csf"] = 500.0 + 10.0 * drift
    table.to_csv(conf(root, 1), sep="\t", index=False, na_rep="n/a")
    reference = root / "clean_bold.nii.gz"
    nib.save(nib.Nifti1Image(clean_data.astype(np.float32), img.affine, img.header), reference)

    planted = extract_image_signals([bold(root, 1)], atlas="schaefer100", confounds="simple")
    raw = extract_image_signals([bold(root, 1)], atlas="schaefer100", confounds="none")
    with_drift = np.array([abs(np.corrcoef(raw.signals[0][:, j], drift)[0, 1])
                           for j in range(100)])
    assert with_drift.min() > 0.7  # without regression the drift dominates
    got = planted.signals[0]
    left = np.array([abs(np.corrcoef(got[:, j], drift)[0, 1]) for j in range(100)])
    assert left.max() < 1e-3
    # known answer: nilearn on the image without the drift, same regressors
    from nilearn.interfaces.fmriprep import load_confounds_strategy
    from nilearn.maskers import NiftiLabelsMasker

    from neurocl.io.atlases import load_atlas

    regressors, mask = load_confounds_strategy(str(bold(root, 1)), denoise_strategy="simple")
    atlas = load_atlas("schaefer100")
    ref = NiftiLabelsMasker(labels_img=atlas.image, standardize=None).fit_transform(
        str(reference), confounds=regressors.assign(csf=table["csf"]), sample_mask=mask)
    r = [np.corrcoef(got[:, j], ref[:, j])[0, 1] for j in range(100)]
    assert min(r) > 0.99
    assert planted.subjects["mean_fd"].iloc[0] == pytest.approx(
        table["framewise_displacement"].mean())


def test_high_motion_run_excluded_with_stated_rule(tmp_path):
    root = tmp_path / "deriv"
    shutil.copytree(SAMPLE, root)
    table = pd.read_csv(conf(root, 2), sep="\t", na_values="n/a")
    table.loc[1:50, "framewise_displacement"] = 1.2  # 50 of 75 frames move too much
    table.to_csv(conf(root, 2), sep="\t", index=False, na_rep="n/a")
    res = extract_image_signals([root], atlas="dosenbach2010", confounds="simple",
                                fd_threshold=0.5, max_scrubbed=0.3)
    assert res.subjects["sample_id"].tolist() == ["sub-rest01_task-rest_run-1"]
    (excluded,) = res.report["excluded"]
    assert excluded["sample_id"] == "sub-rest01_task-rest_run-2"
    assert "more than --max-scrubbed 30%" in excluded["reason"]
    assert "30%" in res.meta["cleaning"]["exclusion_rule"]
    with pytest.raises(InputFileError, match="all 1 runs are excluded"):
        extract_image_signals([bold(root, 2)], atlas="dosenbach2010", confounds="simple",
                              fd_threshold=0.5, max_scrubbed=0.3)
