"""A Dask cluster named as the joblib backend builds the same dataset as the local path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurocl._core.errors import ParameterError
from neurocl._core.parallel import parallel_backend
from neurocl.data.build import build_from_signals
from neurocl.io.networks import default_nodes

distributed = pytest.importorskip("dask.distributed", reason="the dask extra is not installed")


def _inputs(rng):
    signals = [rng.standard_normal((60, 6)) for _ in range(9)]
    subjects = pd.DataFrame({"sample_id": [f"s{i}" for i in range(9)],
                             "subject_id": [f"s{i}" for i in range(9)]})
    return signals, subjects


def test_local_cluster_matches_local_build(tmp_path, rng):
    signals, subjects = _inputs(rng)
    opts = dict(kind="partial correlation", shrinkage="ledoit-wolf", chunk_size=2)
    local = build_from_signals(tmp_path / "local.ds", signals, subjects, default_nodes(6), **opts)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with parallel_backend(cluster.scheduler_address):
            remote = build_from_signals(tmp_path / "dask.ds", signals, subjects,
                                        default_nodes(6), n_jobs=2, **opts)
    np.testing.assert_array_equal(remote.fc, local.fc)
    np.testing.assert_array_equal(remote.covariance, local.covariance)


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ParameterError, match="cannot reach the Dask scheduler"):
        with parallel_backend("tcp://127.0.0.1:1", timeout="1s"):
            pass


def test_cli_scheduler_and_n_jobs(tmp_path, rng):
    from typer.testing import CliRunner

    from neurocl.cli.main import app

    np.savez(tmp_path / "ts.npz", timeseries=rng.standard_normal((5, 40, 4)),
             subject_id=np.array(list("abcde")))
    runner = CliRunner()
    ok = runner.invoke(app, ["build-fc", "fmri", str(tmp_path / "ts.npz"), "--n-jobs", "2",
                             "--out", str(tmp_path / "a.ds")])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["build-fc", "fmri", str(tmp_path / "ts.npz"), "--scheduler",
                              "tcp://127.0.0.1:1", "--out", str(tmp_path / "b.ds")])
    assert bad.exit_code == 2 and "cannot reach the Dask scheduler" in bad.output
    assert not (tmp_path / "b.ds").exists()
