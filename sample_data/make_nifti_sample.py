"""Make the painted 4D NIfTI sample and its fMRIPrep-style derivatives folder.

Usage: python sample_data/make_nifti_sample.py DATA_DIR

DATA_DIR holds ``rest_single_subject/`` (one adult at rest: Schaefer-100 ROI means, 150 frames,
TR 2 s, and the motion / WM / CSF confounds of the same run). The real ROI time series are
painted into the Schaefer-100 atlas resampled to 4 mm (FSL MNI152 grid): every voxel of a
parcel gets its parcel's signal plus Gaussian noise with SD half the parcel signal's temporal
SD, stored as int16 (scale factor 4 in the header). Each parcel's signal keeps its
fluctuations around a common baseline of 1536 (the real parcel means lie between about
1300 and 2700), which keeps the gzip files small. The run is split into two BIDS runs of 75
frames (independent noise) written as an fMRIPrep derivatives folder with brain masks and
confounds tables carrying fMRIPrep's column names:

- ``trans_*``/``rot_*`` (mm / radians) from the run's rigid-body matrices, their derivatives
  and squares, ``framewise_displacement`` (Power's formula, 50 mm head radius) computed from
  them;
- ``csf`` and ``white_matter`` (real means of the run), ``global_signal`` (mean of the painted
  image), with derivatives and squares;
- ``cosine00``... (discrete cosine basis for a 128 s high-pass, as fMRIPrep writes it).
"""

import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from nibabel.openers import Opener
from nilearn.image import resample_img
from scipy.spatial.transform import Rotation

HERE = Path(__file__).parent
ATLAS = (HERE.parent / "neurocl" / "io" / "atlas_data"
         / "Schaefer2018_100Parcels_7Networks_order_FSLMNI152_1mm.nii.gz")
AFFINE = np.array([[-4.0, 0, 0, 90], [0, 4, 0, -126], [0, 0, 4, -72], [0, 0, 0, 1]])
SHAPE = (46, 55, 46)
T_R = 2.0
SLOPE = 4.0
BASELINE = 1536.0  # common parcel baseline: quantised values share one high byte (gzip)
SPACE = "MNI152NLin6Asym"  # the FSL MNI152 template of the Schaefer volumes
SUBJECT = "rest01"
Opener.default_compresslevel = 9  # nibabel writes level 1 by default


def atlas_4mm() -> np.ndarray:
    img = resample_img(nib.load(ATLAS), target_affine=AFFINE, target_shape=SHAPE,
                       interpolation="nearest", force_resample=True, copy_header=True)
    return np.rint(np.asarray(img.dataobj)).astype(np.int16)


def paint(labels: np.ndarray, signals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a float 4D array: parcel signals + voxel noise (SD half the parcel's)."""
    n_times = signals.shape[0]
    out = np.zeros((*labels.shape, n_times), dtype=np.float64)
    sd = signals.std(axis=0)
    for j in range(signals.shape[1]):
        vox = labels == j + 1
        noise = rng.normal(0.0, 0.5 * sd[j], size=(int(vox.sum()), n_times))
        out[vox] = signals[:, j][None, :] + noise
    return out


def save_int16(data: np.ndarray, path: Path) -> None:
    img = nib.Nifti1Image(np.rint(data / SLOPE).astype(np.int16), AFFINE)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = T_R
    img.header.set_slope_inter(SLOPE, 0.0)
    img.header.set_qform(AFFINE, code=4)
    img.header.set_sform(AFFINE, code=4)
    nib.save(img, path)


def motion_table(conf: pd.DataFrame) -> pd.DataFrame:
    mats = conf[[f"motion_matrix_{i}{j}" for i in range(3) for j in range(3)]].to_numpy()
    rot = Rotation.from_matrix(mats.reshape(-1, 3, 3)).as_euler("xyz")
    trans = conf[["motion_offset_x", "motion_offset_y", "motion_offset_z"]].to_numpy()
    return pd.DataFrame({"trans_x": trans[:, 0], "trans_y": trans[:, 1], "trans_z": trans[:, 2],
                         "rot_x": rot[:, 0], "rot_y": rot[:, 1], "rot_z": rot[:, 2]})


def expand(table: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for col in table.columns:
        x = table[col].to_numpy(dtype=float)
        d = np.concatenate([[np.nan], np.diff(x)])
        out[col] = x
        out[f"{col}_derivative1"] = d
        out[f"{col}_power2"] = x**2
        out[f"{col}_derivative1_power2"] = d**2
    return pd.DataFrame(out)


def cosine_basis(n_times: int, t_r: float, cutoff: float = 128.0) -> np.ndarray:
    order = int(np.floor(2 * n_times * t_r / cutoff))
    t = np.arange(n_times)
    return np.stack([np.sqrt(2.0 / n_times) * np.cos(np.pi * (2 * t + 1) * k / (2 * n_times))
                     for k in range(1, order + 1)], axis=1)


def confounds_table(conf: pd.DataFrame, global_signal: np.ndarray) -> pd.DataFrame:
    motion = motion_table(conf).reset_index(drop=True)
    fd = (motion[["trans_x", "trans_y", "trans_z"]].diff().abs().sum(axis=1)
          + 50.0 * motion[["rot_x", "rot_y", "rot_z"]].diff().abs().sum(axis=1))
    fd.iloc[0] = np.nan
    tissue = pd.DataFrame({"global_signal": global_signal,
                           "csf": conf["csf"].to_numpy(dtype=float),
                           "white_matter": conf["white_matter"].to_numpy(dtype=float)})
    cos = cosine_basis(len(conf), T_R)
    table = pd.concat([expand(tissue), expand(motion)], axis=1)
    table["framewise_displacement"] = fd.to_numpy()
    for k in range(cos.shape[1]):
        table[f"cosine{k:02d}"] = cos[:, k]
    return table


def main(data_dir: Path) -> None:
    rest = data_dir / "rest_single_subject"
    signals = pd.read_csv(rest / "timeseries.tsv", sep="\t").to_numpy(dtype=float)
    signals = signals - signals.mean(axis=0) + BASELINE
    conf = pd.read_csv(rest / "confounds.tsv", sep="\t", na_values=["n/a"])
    labels = atlas_4mm()
    rng = np.random.default_rng(2018)
    root = HERE / "fmriprep_rest01"
    func = root / f"sub-{SUBJECT}" / "func"
    func.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text(json.dumps({
        "Name": "neurocl painted sample (fMRIPrep-style layout)",
        "BIDSVersion": "1.8.0", "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "neurocl sample_data/make_nifti_sample.py"}]}, indent=2) + "\n")
    half = len(signals) // 2
    for run, frames in ((1, slice(0, half)), (2, slice(half, len(signals)))):
        data = paint(labels, signals[frames], rng)
        prefix = f"sub-{SUBJECT}_task-rest_run-{run}"
        save_int16(data, func / f"{prefix}_space-{SPACE}_res-4_desc-preproc_bold.nii.gz")
        mask = nib.Nifti1Image((labels > 0).astype(np.uint8), AFFINE)
        nib.save(mask, func / f"{prefix}_space-{SPACE}_res-4_desc-brain_mask.nii.gz")
        gs = data[labels > 0].mean(axis=0)
        table = confounds_table(conf.iloc[frames].reset_index(drop=True), gs)
        table.to_csv(func / f"{prefix}_desc-confounds_timeseries.tsv", sep="\t", index=False,
                     na_rep="n/a", float_format="%.6g")
        (func / f"{prefix}_space-{SPACE}_res-4_desc-preproc_bold.json").write_text(
            json.dumps({"RepetitionTime": T_R, "TaskName": "rest"}) + "\n")
    pd.DataFrame({"participant_id": [f"sub-{SUBJECT}"], "age_group": ["adult"]}).to_csv(
        root / "participants.tsv", sep="\t", index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
