"""CLI wiring of ``neurocl probe`` (the science is tested on the API)."""

from __future__ import annotations

import json

import pandas as pd
from _probe_data import simulate
from typer.testing import CliRunner

from neurocl.cli.main import app

runner = CliRunner()
FAST = ["--cv", "3", "--repeats", "1", "--probes", "linear"]


def test_probe_baselines_json_and_files(tmp_path):
    ds = simulate(tmp_path / "sim.ds", n_subjects=24, effect=1.0, seed=0)
    out, preds = tmp_path / "table.csv", tmp_path / "preds.csv"
    res = runner.invoke(app, ["probe", str(ds.path), "--label", "group", *FAST,
                              "--out", str(out), "--predictions", str(preds), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [r["representation"] for r in data["summary"]] == ["raw-fc", "tangent", "chance"]
    assert data["info"]["task"] == "classification" and data["info"]["n_folds"] == 3
    assert data["files"] == [str(out), str(preds)]
    assert list(pd.read_csv(out).representation) == ["raw-fc", "tangent", "chance"]
    assert len(pd.read_csv(preds)) == 3 * 24
    # an existing output is refused without --overwrite, and kept
    res = runner.invoke(app, ["probe", str(ds.path), "--label", "group", *FAST,
                              "--out", str(out)])
    assert res.exit_code == 2 and "already exists" in res.output


def test_probe_table_with_embeddings_file(tmp_path):
    ds = simulate(tmp_path / "sim.ds", n_subjects=24, effect=1.0, seed=1)
    table = ds.subjects[["sample_id", "subject_id"]].copy()
    fc = ds.fc.reshape(24, -1)
    for i in range(4):
        table[f"emb_{i}"] = fc[:, i + 1]
    table.to_csv(tmp_path / "emb.csv", index=False)
    res = runner.invoke(app, ["probe", str(tmp_path / "emb.csv"), str(ds.path), "--label",
                              "score", "--task", "regression", *FAST,
                              "--baselines", "raw-fc,chance"])
    assert res.exit_code == 0, res.output
    assert "regression" in res.stdout and "r2" in res.stdout
    assert "encoder" in res.stdout and " ± " in res.stdout
    assert "encoder - raw-fc (linear, r2)" in res.stdout


def test_probe_bad_input(tmp_path):
    ds = simulate(tmp_path / "sim.ds", n_subjects=24, seed=2)
    res = runner.invoke(app, ["probe", str(ds.path), "--label", "nope", *FAST])
    assert res.exit_code == 2
    assert "'nope' is not in the subjects table" in res.output and "group" in res.output
    res = runner.invoke(app, ["probe", "a", "b", str(ds.path), "--label", "group"])
    assert res.exit_code == 2 and "RUN_OR_EMBEDDINGS" in res.output
    bad = ds.subjects[["sample_id"]].assign(emb_0=1.0).iloc[:10]
    bad.to_csv(tmp_path / "bad.csv", index=False)
    res = runner.invoke(app, ["probe", str(tmp_path / "bad.csv"), str(ds.path), "--label",
                              "group", *FAST])
    assert res.exit_code == 2 and "do not match the dataset" in res.output
    res = runner.invoke(app, ["probe", str(ds.path), "--label", "group", "--task", "cluster"])
    assert res.exit_code == 2 and "task must be one of" in res.output
