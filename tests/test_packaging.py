"""A regular (non-editable) install must ship every subpackage and data file."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")

ROOT = Path(__file__).resolve().parent.parent


def _config():
    path = ROOT / "pyproject.toml"
    if not path.is_file():
        pytest.skip("not run from a source checkout")
    return tomllib.loads(path.read_text())["tool"]["setuptools"]


def test_every_subpackage_is_listed():
    listed = set(_config()["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "neurocl").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set()
    assert {"neurocl.cli", "neurocl.sample_data"} <= listed


def test_data_files_are_declared():
    data = _config()["package-data"]
    assert any("atlas_data" in g for g in data["neurocl.io"])
    assert (ROOT / "neurocl" / "io" / "atlas_data").is_dir()
    assert any(g.endswith("*.npz") for g in data["neurocl.sample_data"])
