"""build-fc --shard i/n and merge-fc give the same dataset as one build."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neurocl import api, load_dataset
from neurocl._core.errors import DatasetError, ParameterError
from neurocl.cli.main import app
from neurocl.data.shards import parse_shard, shard_indices


def test_shard_indices_cover_everything_once():
    parts = [shard_indices(23, f"{i}/5") for i in range(1, 6)]
    assert np.concatenate(parts).tolist() == list(range(23))
    assert [len(p) for p in parts] == [5, 4, 5, 4, 5]


@pytest.mark.parametrize("spec", ["0/4", "5/4", "a/b", "3"])
def test_bad_shard_specs(spec):
    with pytest.raises(ParameterError, match="--shard"):
        parse_shard(spec)


@pytest.mark.parametrize("kind", ["correlation", "tangent"])
def test_shards_merge_to_the_single_build(tmp_path, rng, kind):
    lengths = [40, 40, 52, 40, 47, 40, 40]
    path = tmp_path / "ts"
    path.mkdir()
    files = []
    for i, t in enumerate(lengths):
        f = path / f"sub-{i:02d}_timeseries.tsv"
        pd.DataFrame(rng.standard_normal((t, 5))).to_csv(f, sep="\t", index=False)
        files.append(f)
    opts = dict(kind=kind, shrinkage="ledoit-wolf")
    whole = api.build_fc_fmri(files, tmp_path / "whole.ds", **opts).dataset
    for i in (1, 2, 3):
        api.build_fc_fmri(files, tmp_path / f"s{i}.ds", shard=f"{i}/3", **opts)
    assert load_dataset(tmp_path / "s2.ds").meta["shard"]["index"] == 2
    result = CliRunner().invoke(app, ["merge-fc", *(str(tmp_path / f"s{i}.ds") for i in (1, 2, 3)),
                                      "--out", str(tmp_path / "merged.ds"), "--json"])
    assert result.exit_code == 0, result.output
    merged = load_dataset(tmp_path / "merged.ds")
    assert merged.subjects["sample_id"].tolist() == whole.subjects["sample_id"].tolist()
    np.testing.assert_allclose(merged.fc, whole.fc, atol=1e-6)
    np.testing.assert_array_equal(merged.covariance, whole.covariance)
    assert [len(x) for x in merged.timeseries] == lengths
    np.testing.assert_array_equal(merged.timeseries[2], whole.timeseries[2])


def test_merge_refuses_mixed_builds(tmp_path, rng):
    np.savez(tmp_path / "a.npz", timeseries=rng.standard_normal((3, 30, 4)),
             subject_id=np.array(["a", "b", "c"]))
    api.build_fc_fmri([tmp_path / "a.npz"], tmp_path / "x.ds", shard="1/2")
    api.build_fc_fmri([tmp_path / "a.npz"], tmp_path / "y.ds", shard="2/2", kind="covariance")
    with pytest.raises(DatasetError, match="kind="):
        api.merge_fc([tmp_path / "x.ds", tmp_path / "y.ds"], tmp_path / "m.ds")
    with pytest.raises(DatasetError, match="more than one shard"):
        api.merge_fc([tmp_path / "x.ds", tmp_path / "x.ds"], tmp_path / "m.ds")
    assert not (tmp_path / "m.ds").exists()
