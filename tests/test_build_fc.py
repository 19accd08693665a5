"""build-fc from ROI time series and matrices: inputs, joins, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from nilearn.connectome import ConnectivityMeasure
from sklearn.covariance import EmpiricalCovariance

from neurocl import api
from neurocl._core.errors import InputFileError, ParameterError


def _nodes_tsv(path, n, networks=("Vis", "SomMot", "Default", "Cont", "SalVentAttn")):
    pd.DataFrame({"name": [f"roi{i}" for i in range(n)],
                  "network": [networks[i % len(networks)] for i in range(n)],
                  "x_mm": np.arange(n, dtype=float), "y_mm": 0.0, "z_mm": 1.0}
                 ).to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture
def stack(tmp_path, rng):
    ts = (rng.standard_normal((6, 40, 7)) @ rng.standard_normal((7, 7))).astype(np.float32)
    ids = np.array([f"sub-{i:02d}" for i in range(6)])
    path = tmp_path / "ts.npz"
    np.savez(path, timeseries=ts, subject_id=ids, group=np.array(list("aabbab")))
    return path, ts, ids


def _pheno(path, ids, extra=()):
    pd.DataFrame({"participant_id": list(ids) + list(extra),
                  "age": np.arange(len(ids) + len(extra)) + 0.5}).to_csv(path, sep="\t",
                                                                        index=False)
    return path


def test_npz_stack_with_networks_and_phenotype(tmp_path, stack):
    path, ts, ids = stack
    res = api.build_fc_fmri([path], tmp_path / "out.ds",
                            networks=_nodes_tsv(tmp_path / "n.tsv", 7),
                            phenotype=_pheno(tmp_path / "p.tsv", ids[1:], extra=["sub-99"]),
                            window=20, stride=5)
    ds = res.dataset
    expected = ConnectivityMeasure(
        kind="correlation", cov_estimator=EmpiricalCovariance(store_precision=False)
    ).fit_transform(list(ts.astype(np.float64)))
    np.testing.assert_allclose(ds.fc, expected, atol=1e-5)
    assert ds.dynamic_fc.shape == (6, 5, 7, 7)
    assert ds.timeseries.shape == (6, 40, 7) and ds.covariance.shape == (6, 7, 7)
    assert ds.subjects["sample_id"].tolist() == list(ids)  # every subject keeps its row
    assert ds.subjects["group"].tolist() == list("aabbab")
    assert np.isnan(ds.subjects["age"].iloc[0]) and ds.subjects["age"].iloc[1] == 0.5
    assert res.report["phenotype"] == {"matched_on": "sample_id", "missing": ["sub-00"],
                                       "unused": ["sub-99"]}
    assert any("no row" in w for w in res.warnings)
    assert ds.nodes["network"].tolist()[:5] == ["Visual", "Somatomotor", "Default",
                                                "Frontoparietal", "VentralAttention"]
    assert ds.nodes["x"].tolist() == list(range(7))
    assert ds.meta["window"] == {"length": 20, "stride": 5, "n_windows": 5}


def test_per_subject_tables_with_bids_names(tmp_path, rng):
    files = []
    for sub, run, t in (("01", "1", 30), ("01", "2", 35), ("02", "1", 30)):
        df = pd.DataFrame(rng.standard_normal((t, 5)), columns=[f"r{i}" for i in range(5)])
        f = tmp_path / f"sub-{sub}_task-rest_run-{run}_timeseries.tsv"
        df.to_csv(f, sep="\t", index=False)
        files.append(f)
    ds = api.build_fc_fmri(files, tmp_path / "o.ds", kind="covariance").dataset
    assert ds.subjects["subject_id"].tolist() == ["sub-01", "sub-01", "sub-02"]
    assert ds.subjects["run"].astype(str).tolist() == ["1", "2", "1"]
    assert [len(x) for x in ds.timeseries] == [30, 35, 30]
    assert ds.nodes["name"].tolist() == [f"r{i}" for i in range(5)]
    x = pd.read_csv(files[1], sep="\t").to_numpy()
    np.testing.assert_allclose(ds.fc[1], np.cov(x.T, bias=True), atol=1e-5)


def test_one_d_files_without_header(tmp_path, rng):
    for i in range(3):
        np.savetxt(tmp_path / f"subj{i}.1D", rng.standard_normal((25, 4)))
    ds = api.build_fc_fmri(sorted(tmp_path.glob("*.1D")), tmp_path / "o.ds").dataset
    assert ds.subjects["sample_id"].tolist() == ["subj0", "subj1", "subj2"]
    assert ds.fc.shape == (3, 4, 4)


def test_matrices_stack_ids_from_phenotype_order(tmp_path, rng):
    x = rng.standard_normal((4, 30, 5))
    mats = np.stack([np.corrcoef(s.T) for s in x])
    np.save(tmp_path / "m.npy", mats)
    pheno = _pheno(tmp_path / "p.tsv", ["a", "b", "c", "d"])
    res = api.build_fc_fmri([tmp_path / "m.npy"], tmp_path / "o.ds", phenotype=pheno,
                            fisher_z=True)
    ds = res.dataset
    assert ds.subjects["sample_id"].tolist() == ["a", "b", "c", "d"]
    assert ds.timeseries is None and ds.meta["input_type"] == "matrices"
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_allclose(ds.fc[2][off], np.arctanh(mats[2][off]), atol=1e-6)
    assert (np.diagonal(ds.fc, axis1=1, axis2=2) == 0).all()


def test_matrix_csv_per_subject(tmp_path, rng):
    for name in ("p1", "p2"):
        m = np.corrcoef(rng.standard_normal((20, 6)).T)
        np.savetxt(tmp_path / f"{name}.csv", m, delimiter=",")
    ds = api.build_fc_fmri(sorted(tmp_path.glob("*.csv")), tmp_path / "o.ds").dataset
    assert ds.meta["input_type"] == "matrices" and ds.subjects["sample_id"].tolist() == [
        "p1", "p2"]


def _assert_refused(tmp_path, exc, match, *args, **kwargs):
    out = tmp_path / "bad.ds"
    with pytest.raises(exc, match=match):
        api.build_fc_fmri(*args, out=out, **kwargs)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith((".bad", "bad"))]
    assert leftovers == []


def test_nan_signal_refused(tmp_path, stack):
    path, ts, ids = stack
    ts = ts.copy()
    ts[2, 5, 3] = np.nan
    np.savez(tmp_path / "nan.npz", timeseries=ts, subject_id=ids)
    _assert_refused(tmp_path, InputFileError, r"nan\.npz: sample 'sub-02': ROI 'node-003'",
                    [tmp_path / "nan.npz"])


def test_constant_signal_refused(tmp_path, stack):
    path, ts, ids = stack
    ts = ts.copy()
    ts[1, :, 2] = 3.0
    np.savez(tmp_path / "c.npz", timeseries=ts, subject_id=ids)
    _assert_refused(tmp_path, InputFileError, "is constant", [tmp_path / "c.npz"])


def test_window_longer_than_signal_refused(tmp_path, stack):
    _assert_refused(tmp_path, InputFileError, "fewer than the window", [stack[0]], window=50)


def test_different_node_counts_refused(tmp_path, rng):
    np.savetxt(tmp_path / "a.txt", rng.standard_normal((20, 4)))
    np.savetxt(tmp_path / "b.txt", rng.standard_normal((20, 5)))
    _assert_refused(tmp_path, InputFileError, r"b\.txt: sample 'b' has 5 nodes",
                    [tmp_path / "a.txt", tmp_path / "b.txt"])


def test_non_square_matrix_refused(tmp_path, rng):
    np.save(tmp_path / "m.npy", rng.standard_normal((3, 5, 4)))
    _assert_refused(tmp_path, InputFileError, "not square", [tmp_path / "m.npy"],
                    input_type="matrices")


def test_asymmetric_matrix_refused(tmp_path, rng):
    np.save(tmp_path / "m.npy", rng.standard_normal((3, 5, 5)))
    _assert_refused(tmp_path, InputFileError, "not symmetric", [tmp_path / "m.npy"],
                    input_type="matrices")


def test_ambiguous_square_input_refused(tmp_path, rng):
    np.save(tmp_path / "m.npy", rng.standard_normal((3, 6, 6)))
    _assert_refused(tmp_path, InputFileError, "--input-type", [tmp_path / "m.npy"])
    ds = api.build_fc_fmri([tmp_path / "m.npy"], tmp_path / "ok.ds",
                           input_type="timeseries").dataset
    assert ds.timeseries.shape == (3, 6, 6)


def test_duplicate_subject_ids_refused(tmp_path, stack):
    path, ts, ids = stack
    ids = ids.copy()
    ids[3] = ids[0]
    np.savez(tmp_path / "d.npz", timeseries=ts, subject_id=ids)
    _assert_refused(tmp_path, InputFileError, "'sub-00' appears more than once",
                    [tmp_path / "d.npz"])


def test_duplicate_phenotype_ids_refused(tmp_path, stack):
    pheno = _pheno(tmp_path / "p.tsv", list(stack[2]) + ["sub-01"])
    _assert_refused(tmp_path, InputFileError, "'sub-01' appears 2 times", [stack[0]],
                    phenotype=pheno)


def test_phenotype_without_id_column_refused(tmp_path, stack):
    pheno = _pheno(tmp_path / "p.tsv", stack[2])
    _assert_refused(tmp_path, InputFileError, r"p\.tsv: no id column 'subject'.*participant_id",
                    [stack[0]], phenotype=pheno, id_column="subject")


def test_network_table_not_covering_nodes_refused(tmp_path, stack):
    _assert_refused(tmp_path, InputFileError, r"n\.tsv: lists 5 nodes but the data have 7",
                    [stack[0]], networks=_nodes_tsv(tmp_path / "n.tsv", 5))


def test_bandpass_without_tr_refused(tmp_path, stack):
    _assert_refused(tmp_path, ParameterError, "--t-r", [stack[0]], low_pass=0.1)


def test_cleaning_standardizes_and_filters(tmp_path, rng):
    t = np.arange(200) * 2.0
    slow = np.sin(2 * np.pi * 0.02 * t)
    fast = np.sin(2 * np.pi * 0.2 * t)
    x = np.stack([slow + fast + 5, slow - fast + 1, rng.standard_normal(200)], axis=1)
    np.save(tmp_path / "one.npy", x)
    ds = api.build_fc_fmri([tmp_path / "one.npy"], tmp_path / "o.ds", input_type="timeseries",
                           standardize=True, low_pass=0.08, t_r=2.0).dataset
    clean = np.asarray(ds.timeseries[0])
    np.testing.assert_allclose(clean.mean(0), 0, atol=1e-5)
    assert ds.fc[0, 0, 1] > 0.95  # the shared slow part survives, the fast part is gone
    assert ds.meta["cleaning"]["low_pass"] == 0.08


def test_real_development_set(tmp_path, test_data):
    res = api.build_fc_fmri(
        [test_data / "development_fmri/timeseries_aal116.npz"], tmp_path / "dev.ds",
        networks=test_data / "atlases/network_maps/aal116_spm12_to_yeo7.tsv",
        name_column="roi_name", network_column="yeo7_network",
        phenotype=test_data / "development_fmri/participants.tsv", id_column="participant_id",
        fisher_z=True,
    )
    ds = res.dataset
    assert ds.fc.shape == (115, 116, 116) and res.report["phenotype"]["missing"] == []
    assert ds.subjects["Child_Adult"].value_counts().to_dict() == {"child": 91, "adult": 24}
    assert (ds.subjects["child_adult"] == ds.subjects["Child_Adult"]).all()
    summary = json.loads(json.dumps(ds.summary()))
    assert summary["networks"]["None"] == 38 and summary["networks"]["Default"] == 18


@pytest.mark.parametrize("kind", ["correlation", "tangent"])
def test_chunked_build_equals_one_batch(tmp_path, rng, kind):
    from neurocl.connectivity import ConnectivityEstimator, dynamic_connectivity
    from neurocl.data.build import build_from_signals
    from neurocl.io.networks import default_nodes

    signals = [rng.standard_normal((45, 5)) for _ in range(7)]
    subjects = pd.DataFrame({"sample_id": list("abcdefg"), "subject_id": list("abcdefg")})
    ds = build_from_signals(tmp_path / "c.ds", signals, subjects, default_nodes(5), kind=kind,
                            shrinkage="ledoit-wolf", window=20, stride=5, chunk_size=3)
    expected = ConnectivityEstimator(kind, shrinkage="ledoit-wolf").fit_transform(signals)
    np.testing.assert_allclose(ds.fc, expected, atol=1e-6)
    dfc = dynamic_connectivity(signals, 20, 5, kind, shrinkage="ledoit-wolf")
    np.testing.assert_allclose(ds.dynamic_fc, dfc, atol=1e-6)
    assert ds.covariance.dtype == np.float64
