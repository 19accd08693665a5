"""Extraction of painted 4D images: neurocl vs a plain loop of nilearn's NiftiLabelsMasker.

Usage: python benchmarks/bench_extraction.py [DATA_DIR] [--subjects 20] [--n-jobs 2]

Paints the real Schaefer-100 time series of DATA_DIR/rest_single_subject (150 frames) into the
Schaefer-100 atlas at 4 mm, once per subject with its own voxel noise (as
sample_data/make_nifti_sample.py does), then times on the same files:

- floor: just reading every image into float32 memory (nibabel's own scaling, and the reader
  neurocl uses, which scales int16 data in float32);
- nilearn: ``NiftiLabelsMasker(labels_img=<1 mm atlas>).fit_transform(path)`` per subject
  (the atlas is resampled to the data for every subject);
- neurocl: ``extract_image_signals(files, atlas="schaefer100")`` (atlas resampled once),
  with 1 process and with ``--n-jobs`` processes.

Outputs are compared (max absolute difference). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd


def paint_subjects(data_dir: Path, out: Path, n_subjects: int) -> list[Path]:
    from neurocl.sample_data import make_nifti_sample as sample

    signals = pd.read_csv(data_dir / "rest_single_subject" / "timeseries.tsv",
                          sep="\t").to_numpy(dtype=float)
    signals = signals - signals.mean(axis=0) + sample.BASELINE
    labels = sample.atlas_4mm()
    files = []
    for i in range(n_subjects):
        rng = np.random.default_rng(1000 + i)
        path = out / f"sub-{i + 1:02d}_task-rest_bold.nii.gz"
        sample.save_int16(sample.paint(labels, signals, rng), path)
        files.append(path)
    return files


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("NEUROCL_TEST_DATA"))
    parser.add_argument("--subjects", type=int, default=20)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    if not args.data_dir:
        raise SystemExit("give DATA_DIR or set NEUROCL_TEST_DATA")
    import warnings

    warnings.simplefilter("ignore")
    from nilearn.maskers import NiftiLabelsMasker

    from neurocl.io import nifti
    from neurocl.io.atlases import load_atlas
    from neurocl.io.nifti import extract_image_signals

    atlas = load_atlas("schaefer100")
    with tempfile.TemporaryDirectory() as tmp:
        files = paint_subjects(Path(args.data_dir), Path(tmp), args.subjects)
        size = sum(f.stat().st_size for f in files) / 1e6

        def read_all():
            return [np.asarray(nib.load(f).dataobj, dtype=np.float32).shape for f in files]

        def nilearn_loop():
            return [NiftiLabelsMasker(labels_img=atlas.image).fit_transform(str(f))
                    for f in files]

        def read_fast():
            return [nifti._load_data(f, nib.load(f).shape)[1].shape for f in files]

        read_all()  # warm the page cache for every contender
        t_nib, _ = timed(read_all)
        t_floor, _ = timed(read_fast)
        t_ref, ref = timed(nilearn_loop)
        t_one, ours1 = timed(lambda: extract_image_signals(files, atlas="schaefer100", n_jobs=1))
        t_par, ours2 = timed(lambda: extract_image_signals(files, atlas="schaefer100",
                                                           n_jobs=args.n_jobs))
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ours1.signals, ref, strict=True))
    diff2 = max(float(np.abs(a - b).max()) for a, b in zip(ours2.signals, ref, strict=True))
    shape = ref[0].shape
    print(f"{args.subjects} painted subjects, {shape[0]} frames x {shape[1]} Schaefer-100 "
          f"parcels, 4 mm grid (46x55x46), {size:.1f} MB of .nii.gz; "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}")
    print()
    print("| method | time (s) | per subject (s) | ratio to nilearn loop | max abs diff |")
    print("|---|---|---|---|---|")
    n = args.subjects
    print(f"| reading the images only, nibabel float32 | {t_nib:.2f} | {t_nib / n:.3f} | "
          f"{t_ref / t_nib:.2f}x faster | - |")
    print(f"| reading the images only, neurocl's reader (floor) | {t_floor:.2f} | "
          f"{t_floor / n:.3f} | {t_ref / t_floor:.2f}x faster | - |")
    print(f"| nilearn NiftiLabelsMasker loop | {t_ref:.2f} | {t_ref / n:.3f} | 1.00 | 0 |")
    print(f"| neurocl, n_jobs=1 | {t_one:.2f} | {t_one / n:.3f} | "
          f"{t_ref / t_one:.2f}x faster | {diff:.2e} |")
    print(f"| neurocl, n_jobs={args.n_jobs} | {t_par:.2f} | {t_par / n:.3f} | "
          f"{t_ref / t_par:.2f}x faster | {diff2:.2e} |")


if __name__ == "__main__":
    main()
