"""CLI wiring of build-fc, info, demo: exit codes, output files, JSON on stdout."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from neurocl import __version__
from neurocl.cli.main import app

runner = CliRunner()


@pytest.fixture
def npz(tmp_path, rng):
    path = tmp_path / "ts.npz"
    np.savez(path, timeseries=rng.standard_normal((4, 30, 5)),
             subject_id=np.array(["a", "b", "c", "d"]))
    return path


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_build_then_info_json(tmp_path, npz):
    out = tmp_path / "x.ds"
    result = runner.invoke(app, ["build-fc", "fmri", str(npz), "--out", str(out), "--kind",
                                 "partial-correlation", "--shrinkage", "ledoit-wolf", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_samples"] == 4 and summary["kind"] == "partial correlation"
    info = runner.invoke(app, ["info", str(out), "--json"])
    assert info.exit_code == 0
    assert json.loads(info.stdout)["n_nodes"] == 5
    assert "neurocl build-fc fmri" in json.loads((out / "meta.json").read_text())["command"]


def test_bad_input_is_one_line_exit_2_no_output(tmp_path, rng):
    bad = tmp_path / "bad.npy"
    np.save(bad, rng.standard_normal((3, 6, 6)))
    out = tmp_path / "never.ds"
    result = runner.invoke(app, ["build-fc", "fmri", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "bad.npy" in lines[0] and "--input-type" in lines[0]
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.npy"]


def test_missing_file_and_unknown_kind(tmp_path, npz):
    result = runner.invoke(app, ["build-fc", "fmri", str(tmp_path / "nope.npz"), "--out",
                                 str(tmp_path / "o.ds")])
    assert result.exit_code == 2 and "file not found" in result.output
    result = runner.invoke(app, ["build-fc", "fmri", str(npz), "--out", str(tmp_path / "o.ds"),
                                 "--kind", "coherence"])
    assert result.exit_code == 2 and "kind must be one of" in result.output


def test_existing_output_refused(tmp_path, npz):
    out = tmp_path / "x.ds"
    assert runner.invoke(app, ["build-fc", "fmri", str(npz), "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["build-fc", "fmri", str(npz), "--out", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output


def test_info_on_non_dataset(tmp_path):
    result = runner.invoke(app, ["info", str(tmp_path)])
    assert result.exit_code == 2 and "no meta.json" in result.output


def test_demo_quick(tmp_path):
    result = runner.invoke(app, ["demo", "--quick", "--out", str(tmp_path / "d"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["steps"]["build-fc"]["n_samples"] == 40
    assert "development.ds/fc.npy" in payload["files"]


def test_python_m_neurocl_help_does_not_import_torch():
    code = ("import sys, runpy; sys.argv=['neurocl','--help']\n"
            "try:\n    runpy.run_module('neurocl', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported by --help'\n"
            "assert 'nilearn' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "build-fc" in proc.stdout
