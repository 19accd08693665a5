"""The probe on the real development fMRI data (115 persons, AAL-116)."""

from __future__ import annotations

import pytest


def test_child_adult_raw_fc_baseline(test_data, tmp_path):
    from neurocl import api

    src = test_data / "development_fmri" / "timeseries_aal116.npz"
    if not src.is_file():
        pytest.skip(f"{src} is missing")
    built = api.build_fc_fmri(
        [src], tmp_path / "dev.ds",
        networks=test_data / "atlases" / "network_maps" / "aal116_spm12_to_yeo7.tsv",
        name_column="roi_name", network_column="yeo7_network", kind="correlation",
    )
    res = api.probe(None, built.dataset, label="child_adult", cv=5, repeats=1,
                    probes=("linear",), baselines=("raw-fc", "chance"))
    s = res.summary.set_index("representation")
    assert res.info["n_samples"] == 115 and res.info["class_counts"] == {"adult": 24,
                                                                         "child": 91}
    # children and adults differ strongly in their connectomes (about 0.86-0.9)
    assert s.loc["raw-fc", "balanced_accuracy_mean"] > 0.8
    assert s.loc["chance", "balanced_accuracy_mean"] == pytest.approx(0.5)
