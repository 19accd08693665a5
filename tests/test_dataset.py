"""The dataset directory: round trip, atomic writes, no pickle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurocl import load_dataset
from neurocl._core.errors import DatasetError
from neurocl.data.dataset import TimeSeriesList, atomic_directory, write_dataset


def _tables(n_samples=5, n_nodes=4):
    subjects = pd.DataFrame({"sample_id": [f"s{i}" for i in range(n_samples)],
                             "subject_id": [f"p{i // 2}" for i in range(n_samples)],
                             "age": np.arange(n_samples) + 20.5})
    nodes = pd.DataFrame({"name": [f"n{i}" for i in range(n_nodes)],
                          "network": ["Visual", "Visual", "Default", "None"][:n_nodes],
                          "x": [1.0, 2.0, np.nan, 4.0][:n_nodes]})
    return subjects, nodes


def test_round_trip_with_unequal_lengths(tmp_path, rng):
    subjects, nodes = _tables()
    fc = rng.standard_normal((5, 4, 4)).astype(np.float32)
    ts = [rng.standard_normal((t, 4)) for t in (10, 12, 10, 11, 13)]
    ds = write_dataset(tmp_path / "a.ds", fc=fc, subjects=subjects, nodes=nodes,
                       meta={"kind": "correlation", "modality": "fmri"}, timeseries=ts)
    ds = load_dataset(tmp_path / "a.ds")
    np.testing.assert_array_equal(ds.fc, fc)
    assert isinstance(ds.fc, np.memmap)
    assert isinstance(ds.timeseries, TimeSeriesList)
    assert [len(x) for x in ds.timeseries] == [10, 12, 10, 11, 13]
    np.testing.assert_allclose(ds.timeseries[3], ts[3], rtol=1e-6)
    assert ds.subjects["sample_id"].tolist() == subjects["sample_id"].tolist()
    assert ds.subjects["age"].tolist() == subjects["age"].tolist()
    assert list(ds.nodes.columns[:5]) == ["name", "network", "x", "y", "z"]
    assert np.isnan(ds.nodes["y"]).all()
    assert ds.networks() == {"Visual": [0, 1], "Default": [2], "None": [3]}
    meta = json.loads((tmp_path / "a.ds" / "meta.json").read_text())
    assert meta["schema_version"] == 1 and meta["n_samples"] == 5 and meta["neurocl_version"]
    summary = ds.summary()
    assert summary["n_subjects"] == 3 and summary["n_times"] == {"min": 10, "max": 13}


def test_equal_lengths_are_one_array(tmp_path, rng):
    subjects, nodes = _tables()
    ds = write_dataset(tmp_path / "b.ds", fc=np.zeros((5, 4, 4)), subjects=subjects,
                       nodes=nodes, meta={}, timeseries=[rng.standard_normal((9, 4))] * 5)
    assert ds.timeseries.shape == (5, 9, 4)
    assert not (tmp_path / "b.ds" / "timeseries_offsets.npy").exists()


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "c.ds") as tmp:
        (tmp / "fc.npy").write_bytes(b"partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path):
    subjects, nodes = _tables()
    args = dict(fc=np.zeros((5, 4, 4)), subjects=subjects, nodes=nodes, meta={})
    write_dataset(tmp_path / "d.ds", **args)
    with pytest.raises(DatasetError, match="--overwrite"):
        write_dataset(tmp_path / "d.ds", **args)
    write_dataset(tmp_path / "d.ds", overwrite=True, **args)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.ds"]


def test_duplicate_sample_ids_refused(tmp_path):
    subjects, nodes = _tables()
    subjects.loc[1, "sample_id"] = "s0"
    with pytest.raises(DatasetError, match="more than once"):
        write_dataset(tmp_path / "e.ds", fc=np.zeros((5, 4, 4)), subjects=subjects,
                      nodes=nodes, meta={})
    assert not (tmp_path / "e.ds").exists()


def test_pickled_array_is_refused(tmp_path):
    subjects, nodes = _tables()
    write_dataset(tmp_path / "f.ds", fc=np.zeros((5, 4, 4)), subjects=subjects, nodes=nodes,
                  meta={})
    np.save(tmp_path / "f.ds" / "covariance.npy", np.array([{"a": 1}] * 5, dtype=object),
            allow_pickle=True)
    ds = load_dataset(tmp_path / "f.ds")
    with pytest.raises(DatasetError, match="pickled"):
        _ = ds.covariance


def test_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError, match="not a dataset directory"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no meta.json"):
        load_dataset(tmp_path / "empty")


def test_writer_without_finish_leaves_nothing(tmp_path):
    from neurocl.data.dataset import DatasetWriter

    with pytest.raises(DatasetError, match="finish"), DatasetWriter(tmp_path / "g.ds") as w:
        w.allocate("fc", (2, 3, 3))[:] = 1.0
    assert list(tmp_path.iterdir()) == []


def test_writer_chunks_are_memory_mapped(tmp_path):
    from neurocl.data.dataset import DatasetWriter

    subjects, nodes = _tables()
    with DatasetWriter(tmp_path / "h.ds") as w:
        fc = w.allocate("fc", (5, 4, 4))
        assert isinstance(fc, np.memmap)
        for start in range(0, 5, 2):
            fc[start : start + 2] = start
        w.finish(subjects, nodes, {"kind": "correlation"})
    ds = load_dataset(tmp_path / "h.ds")
    assert ds.fc[:, 0, 0].tolist() == [0, 0, 2, 2, 4]


def test_failed_write_removes_the_parent_folders_it_created(tmp_path):
    from neurocl.data.dataset import atomic_directory

    out = tmp_path / "new" / "deeper" / "x.ds"
    (tmp_path / "keep").mkdir()
    with pytest.raises(RuntimeError), atomic_directory(out) as tmp:
        (tmp / "part.npy").write_bytes(b"half")
        raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]
    with atomic_directory(out) as tmp:  # a successful write keeps them
        (tmp / "meta.json").write_text("{}")
    assert (out / "meta.json").is_file()
