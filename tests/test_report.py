"""The HTML report embeds tables and figures; headless Chromium renders them."""

from __future__ import annotations

import re
import shutil
import subprocess

import matplotlib
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neurocl._core.errors import InputFileError
from neurocl.cli.main import app
from neurocl.data.dataset import write_dataset
from neurocl.evaluate.report import write_report

matplotlib.use("Agg")


@pytest.fixture
def folder(tmp_path):
    subjects = pd.DataFrame({"sample_id": ["a", "b", "c"], "subject_id": ["a", "b", "c"]})
    nodes = pd.DataFrame({"name": ["n0", "n1"], "network": ["Visual", "Default"]})
    write_dataset(tmp_path / "d.ds", fc=np.zeros((3, 2, 2)), subjects=subjects, nodes=nodes,
                  meta={"kind": "correlation", "modality": "fmri"})
    pd.DataFrame({"representation": ["raw-fc", "chance"], "balanced_accuracy": [0.81, 0.5]}
                 ).to_csv(tmp_path / "probe.csv", index=False)
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    pd.DataFrame({"epoch": [1, 2], "loss": [2.0, 1.5]}).to_csv(run / "history.csv", index=False)
    (run / "config.json").write_text('{"encoder": "gin", "objective": "ntxent"}')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([1, 2], [2.0, 1.5])
    fig.savefig(run / "loss_curve.png")
    plt.close(fig)
    return tmp_path


def test_report_embeds_everything(folder):
    page = write_report(folder).read_text()
    assert page.count("<img") == 1 and "data:image/png;base64," in page
    assert "raw-fc" in page and "0.81" in page  # the probe table
    assert "d.ds" in page and "Visual (1)" in page  # the dataset summary
    assert "&quot;encoder&quot;: &quot;gin&quot;" in page  # provenance of the run
    assert "2 epochs; last: epoch=2, loss=1.5" in page
    assert "src=\"http" not in page and "href=\"http" not in page  # self-contained


def test_report_cli_and_empty_folder(folder, tmp_path_factory):
    result = CliRunner().invoke(app, ["report", str(folder), "--out", str(folder / "r.html")])
    assert result.exit_code == 0 and (folder / "r.html").is_file()
    with pytest.raises(InputFileError, match="nothing|holds no"):
        write_report(tmp_path_factory.mktemp("empty"))


def test_report_renders_in_headless_chromium(folder, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    page = write_report(folder)
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    body = re.search(r"<body[^>]*>", proc.stdout)
    assert body is not None, proc.stderr[-500:]
    tag = body.group(0)
    assert 'data-images="1"' in tag and 'data-images-ok="yes"' in tag
    rows = int(re.search(r'data-table-rows="(\d+)"', tag).group(1))
    assert rows >= 2 + 1 + 5  # probe table, dataset table, versions table
