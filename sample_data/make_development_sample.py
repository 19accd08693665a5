"""Make the development-set sample: 40 subjects (20 children, 20 adults), AAL-116.

Usage: python sample_data/make_development_sample.py DATA_DIR
where DATA_DIR holds development_fmri/ and atlases/network_maps/ (see sample_data/README.md).
"""

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

data = Path(sys.argv[1])
here = Path(__file__).resolve().parent
src = np.load(data / "development_fmri" / "timeseries_aal116.npz", allow_pickle=False)
labels = src["child_adult"]
rng = np.random.default_rng(0)
children = np.sort(rng.choice(np.flatnonzero(labels == "child"), 20, replace=False))
adults = np.sort(rng.choice(np.flatnonzero(labels == "adult"), 20, replace=False))
keep = np.sort(np.concatenate([children, adults]))
np.savez_compressed(
    here / "development_aal116.npz",
    timeseries=src["timeseries"][keep],
    subject_id=src["subject_id"][keep],
    child_adult=src["child_adult"][keep],
    age=src["age"][keep],
    gender=src["gender"][keep],
)
participants = pd.read_csv(data / "development_fmri" / "participants.tsv", sep="\t", dtype=str,
                           keep_default_na=False)
participants = participants[participants["participant_id"].isin(src["subject_id"][keep])]
participants.to_csv(here / "development_participants.tsv", sep="\t", index=False)
shutil.copy(data / "atlases" / "network_maps" / "aal116_spm12_to_yeo7.tsv",
            here / "aal116_networks.tsv")
print(f"kept {len(keep)} subjects: {len(children)} children, {len(adults)} adults")
