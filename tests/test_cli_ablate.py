"""``neurocl ablate`` and ``neurocl importance`` through the command line: wiring and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_ablation import simulate
from typer.testing import CliRunner

from neurocl.cli.main import app
from neurocl.data.dataset import FCDataset

runner = CliRunner()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> FCDataset:
    return simulate(tmp_path_factory.mktemp("cli") / "sim.ds", seed=7)


@pytest.fixture(scope="module")
def run_dir(sim: FCDataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from neurocl import api

    out = tmp_path_factory.mktemp("runs") / "run"
    api.pretrain(sim, out, epochs=1, batch_size=16, hidden=8, layers=1,
                 augment="edge-drop,feature-mask", seed=0)
    return out


def test_ablate_baselines_json_and_files(sim: FCDataset, tmp_path: Path) -> None:
    out = tmp_path / "abl"
    res = runner.invoke(app, ["ablate", str(sim.path), "--label", "group", "--null", "3",
                              "--cv", "3", "--repeats", "1", "--mode", "drop",
                              "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["info"]["representations"] == ["raw-fc"]
    assert data["info"]["modes"] == ["drop"] and data["info"]["n_null"] == 3
    assert {r["network"] for r in data["table"]} == {"Visual", "Default", "Limbic",
                                                      "Somatomotor", "None"}
    for name in ("ablation.csv", "ablation.json", "ablation_folds.csv", "ablation_null.csv",
                 "ablation.png"):
        assert (out / name).stat().st_size > 0
    # an existing --out is refused before any work, and kept as it was
    again = runner.invoke(app, ["ablate", str(sim.path), "--label", "group", "--out",
                                str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_ablate_with_run_table_on_stdout(sim: FCDataset, run_dir: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["ablate", str(run_dir), str(sim.path), "--label", "group",
                              "--null", "2", "--cv", "3", "--repeats", "1",
                              "--unassigned", "drop", "--only", "Default,Visual"])
    assert res.exit_code == 0, res.output
    assert "encoder: group" in res.stdout and "raw-fc: group" in res.stdout
    assert "Default" in res.stdout and "Limbic" not in res.stdout


def test_importance_with_run(sim: FCDataset, run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps"
    res = runner.invoke(app, ["importance", str(run_dir), str(sim.path), "--label", "group",
                              "--cv", "3", "--ig-steps", "2", "--top-edges", "5",
                              "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["info"]["columns"] == ["occlusion_encoder", "ig_encoder", "occlusion_raw_fc",
                                       "haufe_raw_fc"]
    assert any("no NIfTI map" in n for n in data["info"]["notes"])
    nodes = pd.read_csv(out / "importance_nodes.csv")
    assert len(nodes) == sim.n_nodes and "ig_encoder" in nodes
    for name in ("importance_networks.csv", "markers_ig_encoder.png",
                 "connectome_haufe_raw_fc.png", "importance.json"):
        assert (out / name).stat().st_size > 0


def test_bad_input(sim: FCDataset, tmp_path: Path) -> None:
    out = tmp_path / "never"
    res = runner.invoke(app, ["ablate", str(sim.path), "--label", "age", "--null", "0",
                              "--out", str(out)])
    assert res.exit_code == 2
    assert "label column 'age' is not in the subjects table" in res.output
    assert "Traceback" not in res.output and not out.exists()

    nets = tmp_path / "nets.tsv"
    pd.DataFrame({"name": sim.nodes["name"][:5], "network": "Visual"}).to_csv(
        nets, sep="\t", index=False)
    res = runner.invoke(app, ["ablate", str(sim.path), "--label", "group", "--networks",
                              str(nets), "--out", str(out)])
    assert res.exit_code == 2 and "does not cover 18 of the dataset's 23 nodes" in res.output
    assert not out.exists()

    res = runner.invoke(app, ["ablate", str(sim.path), "--label", "group", "--only",
                              "Salience"])
    assert res.exit_code == 2 and "unknown network 'Salience'" in res.output

    res = runner.invoke(app, ["importance", str(sim.path), "--label", "group", "--methods",
                              "lime"])
    assert res.exit_code == 2 and "unknown importance method 'lime'" in res.output

    res = runner.invoke(app, ["importance", str(sim.path), "--label", "group", "--atlas",
                              "schaefer100", "--methods", "haufe"])
    assert res.exit_code == 2 and "has 100 regions but the dataset has 23 nodes" in res.output


def test_run_built_on_another_atlas(run_dir: Path, tmp_path: Path) -> None:
    other = simulate(tmp_path / "other.ds", seed=1,
                     networks=["Visual"] * 6 + ["Default"] * 6 + ["Limbic"] * 6)
    for command in ("ablate", "importance"):
        res = runner.invoke(app, [command, str(run_dir), str(other.path), "--label", "group",
                                  "--out", str(tmp_path / command)])
        assert res.exit_code == 2, res.output
        assert "the run was trained on 23 nodes but" in res.output
        assert not (tmp_path / command).exists()


def test_retrain_reproduces_the_run_and_ablates(sim: FCDataset, run_dir: Path,
                                                tmp_path: Path) -> None:
    import numpy as np

    from neurocl.evaluate.ablation import mask_fc
    from neurocl.train.run import load_run

    run = load_run(run_dir)
    # retraining on the unmasked FC replays the run: the same options and seed, on CPU
    np.testing.assert_array_equal(run.retrain_embed(sim, np.asarray(sim.fc)), run.embed(sim))
    masked = mask_fc(sim.fc, np.arange(5), "drop")
    retrained = run.retrain_embed(sim, masked)
    assert retrained.shape == (sim.n_samples, run.embedding_dim)
    assert not np.allclose(retrained, run.embed(sim, fc=masked))  # new weights, not frozen

    out = tmp_path / "abl"
    res = runner.invoke(app, ["ablate", str(run_dir), str(sim.path), "--label", "group",
                              "--strategy", "retrain", "--null", "2", "--cv", "3",
                              "--repeats", "1", "--mode", "drop", "--unassigned", "drop",
                              "--only", "Default,Visual", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["info"]["strategy"] == "retrain" and data["info"]["n_null"] == 2
    rows = [r for r in data["table"] if r["representation"] == "encoder"]
    assert {r["network"] for r in rows} == {"Default", "Visual"}
    assert all(np.isfinite(r["drop_delta"]) for r in rows)
    assert (out / "ablation.csv").is_file()

    # a baseline-only call has no encoder to retrain
    res = runner.invoke(app, ["ablate", str(sim.path), "--label", "group", "--strategy",
                              "retrain", "--out", str(tmp_path / "never")])
    assert res.exit_code == 2 and "needs a run folder" in res.output
    assert not (tmp_path / "never").exists()


def test_retrain_refuses_fc_crop_runs(tmp_path: Path) -> None:
    import numpy as np

    from neurocl import api
    from neurocl.train.run import load_run

    ds = api.simulate(tmp_path / "ts.ds", n_subjects=12, timeseries=True, seed=0)
    api.pretrain(ds, tmp_path / "crop", epochs=1, batch_size=8, hidden=8, layers=1,
                 augment="fc-crop", seed=0)
    run = load_run(tmp_path / "crop")
    with pytest.raises(Exception, match="fc-crop views recompute FC"):
        run.retrain_embed(ds, np.asarray(ds.fc))
