"""``neurocl pretrain``, ``embed`` and ``list`` through the command line: wiring and files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neurocl.cli.main import app
from neurocl.data.dataset import write_dataset

runner = CliRunner()
FAST = ["--hidden", "8", "--layers", "1", "--batch-size", "4", "--device", "cpu",
        "--proj-dim", "4"]


def make_dataset(path, atlas="toy", timeseries=True):
    rng = np.random.default_rng(1)
    ts = rng.standard_normal((9, 30, 5)).astype(np.float32)
    fc = np.stack([np.corrcoef(x.T) for x in ts])
    subjects = pd.DataFrame({"sample_id": [f"s{i}" for i in range(9)],
                             "subject_id": [f"p{i // 2}" for i in range(9)],
                             "group": list("ababababa")})
    nodes = pd.DataFrame({"name": [f"r{i}" for i in range(5)], "network": ["A"] * 5})
    return write_dataset(path, fc=fc, subjects=subjects, nodes=nodes,
                         meta={"modality": "fmri", "kind": "correlation", "atlas": atlas},
                         timeseries=ts if timeseries else None)


@pytest.fixture
def ds(tmp_path):
    make_dataset(tmp_path / "toy.ds")
    return tmp_path / "toy.ds"


@pytest.fixture
def run(ds, tmp_path):
    result = runner.invoke(app, ["pretrain", str(ds), "--out", str(tmp_path / "run"),
                                 "--epochs", "2", "--augment", "fc-crop,edge-drop", *FAST])
    assert result.exit_code == 0, result.output
    return tmp_path / "run"


def test_pretrain_writes_the_run_folder(run):
    names = {p.name for p in run.iterdir()}
    assert names == {"config.json", "checkpoint.pt", "history.csv", "loss_curve.png"}
    config = json.loads((run / "config.json").read_text())
    assert config["hidden"] == 8 and config["epochs"] == 2
    assert [v["name"] for v in config["augment"]] == ["fc-crop", "edge-drop"]


def test_pretrain_json_and_resume_of_a_finished_run(run, ds):
    result = runner.invoke(app, ["pretrain", str(ds), "--out", str(run), "--resume", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["epochs_done"] == 2 and summary["embedding_dim"] == 8


def test_resume_with_a_changed_option_is_refused(run, ds):
    result = runner.invoke(app, ["pretrain", str(ds), "--out", str(run), "--resume",
                                 "--hidden", "16"])
    assert result.exit_code == 2 and "hidden=16" in result.output


def test_config_replay(run, ds, tmp_path):
    result = runner.invoke(app, ["pretrain", str(ds), "--out", str(tmp_path / "again"),
                                 "--config", str(run / "config.json")])
    assert result.exit_code == 0, result.output
    a = json.loads((run / "config.json").read_text())
    b = json.loads((tmp_path / "again" / "config.json").read_text())
    assert {k: v for k, v in a.items() if k != "dataset"} == {
        k: v for k, v in b.items() if k != "dataset"}


def test_embed_csv(run, ds, tmp_path):
    out = tmp_path / "emb.csv"
    result = runner.invoke(app, ["embed", str(run), str(ds), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns[:3]) == ["sample_id", "subject_id", "group"]
    assert [c for c in table.columns if c.startswith("emb_")] == [f"emb_{i}" for i in range(8)]
    assert len(table) == 9
    again = runner.invoke(app, ["embed", str(run), str(ds), "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_embed_npy_with_ids(run, ds, tmp_path):
    out = tmp_path / "emb.npy"
    result = runner.invoke(app, ["embed", str(run), str(ds), "--out", str(out), "--untrained",
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["embedding_dim"] == 8
    assert np.load(out, allow_pickle=False).shape == (9, 8)
    assert pd.read_csv(tmp_path / "emb.csv")["sample_id"].tolist()[0] == "s0"


def test_embed_refuses_another_atlas(run, tmp_path):
    make_dataset(tmp_path / "other.ds", atlas="other")
    result = runner.invoke(app, ["embed", str(run), str(tmp_path / "other.ds"), "--out",
                                 str(tmp_path / "e.csv")])
    assert result.exit_code == 2
    assert "atlas 'toy'" in result.output and not (tmp_path / "e.csv").exists()


def test_embed_refuses_a_corrupted_checkpoint(run, ds, tmp_path):
    (run / "checkpoint.pt").write_bytes(b"garbage")
    result = runner.invoke(app, ["embed", str(run), str(ds), "--out", str(tmp_path / "e.csv")])
    assert result.exit_code == 2 and "corrupted" in result.output
    assert (run / "checkpoint.pt").read_bytes() == b"garbage"


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--encoder", "resnet"], "valid encoders"), (["--objective", "x"], "valid objectives"),
     (["--augment", "mixup"], "valid views"), (["--sparsify", "top"], "valid sparsifiers")],
)
def test_bad_options_exit_2_and_write_nothing(ds, tmp_path, args, message):
    result = runner.invoke(app, ["pretrain", str(ds), "--out", str(tmp_path / "run"),
                                 "--epochs", "1", *FAST, *args])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "run").exists()


def test_fc_crop_without_time_series(tmp_path):
    make_dataset(tmp_path / "nots.ds", timeseries=False)
    result = runner.invoke(app, ["pretrain", str(tmp_path / "nots.ds"), "--out",
                                 str(tmp_path / "run"), *FAST])
    assert result.exit_code == 2 and "has no time series" in result.output


@pytest.mark.parametrize("what", ["encoders", "objectives", "augmentations"])
def test_list(what):
    from neurocl.models import ENCODERS
    from neurocl.ssl import OBJECTIVES, VIEWS

    registry = {"encoders": ENCODERS, "objectives": OBJECTIVES, "augmentations": VIEWS}[what]
    result = runner.invoke(app, ["list", what, "--json"])
    assert result.exit_code == 0, result.output
    assert [item["name"] for item in json.loads(result.stdout)] == registry.names()
    table = runner.invoke(app, ["list", what])
    assert table.exit_code == 0 and registry.names()[0] in table.stdout


def test_list_unknown():
    result = runner.invoke(app, ["list", "probes"])
    assert result.exit_code == 2 and "encoders" in result.output
