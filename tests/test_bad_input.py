"""Bad input on every command: one line naming the file and the fix, exit 2, nothing written.

Each case builds a small broken input in ``tmp_path`` and runs the command through the
command line. A case passes when the command exits with 2 (bad input), prints exactly one
non-empty line (``error: ...``) without a traceback, names the offending file or option,
says how to fix it, and leaves no output (nor a temporary sibling of it) behind.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import torch
from test_properties import write_edf
from typer.testing import CliRunner

from neurocl.cli.main import app
from neurocl.data.dataset import write_dataset

runner = CliRunner()

#: words of a fix: every error message says what to do
FIX = re.compile(
    r"\b(use|pass|give|check|rebuild|build|remove|drop|choose|fix|rename|keep|save|copy|"
    r"export|resample|leave|shorten|trim|raise|train|retrain|point|add|delete|start|"
    r"select|write|fill|store|embed|must|expected|valid)\b"
    r"|\b(one of|among the|(its|the) \w+ are|run `?neurocl)\b",
    re.IGNORECASE,
)
N_NODES = 6
NODE_NAMES = [f"roi{i}" for i in range(N_NODES)]
NETWORKS = ["Visual"] * 3 + ["Default"] * 3


def _dataset(path: Path, *, n_nodes: int = N_NODES, seed: int = 0, eeg: bool = False) -> Path:
    """A tiny fMRI dataset (12 samples, signals stored), or an EEG one with two bands."""
    rng = np.random.default_rng(seed)
    n = 12
    ts = rng.standard_normal((n, 23, n_nodes)).astype(np.float32)
    fc = np.stack([np.corrcoef(x.T) for x in ts]).astype(np.float32)
    subjects = pd.DataFrame({"sample_id": [f"sub-{i:02d}" for i in range(n)],
                             "subject_id": [f"sub-{i:02d}" for i in range(n)],
                             "group": ["a", "b"] * (n // 2),
                             "age": rng.uniform(20, 60, n)})
    nodes = pd.DataFrame({"name": [f"roi{i}" for i in range(n_nodes)],
                          "network": (NETWORKS * 2)[:n_nodes]})
    meta = {"modality": "fmri", "kind": "correlation", "atlas": "toy"}
    extra = {}
    if eeg:
        meta = {"modality": "eeg", "kind": "wpli", "bands": ["alpha", "beta"], "band": "alpha"}
        extra["fc_bands"] = np.stack([fc, fc], axis=1)
    write_dataset(path, fc=fc, subjects=subjects, nodes=nodes, meta=meta, timeseries=ts,
                  **extra)
    return path


@dataclass
class Env:
    """Inputs shared by the cases (built once per module)."""

    root: Path
    ds: Path
    other: Path
    eeg: Path
    run: Path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    from neurocl import api

    root = tmp_path_factory.mktemp("bad_input")
    ds = _dataset(root / "toy.ds")
    other = _dataset(root / "other.ds", n_nodes=5, seed=1)
    eeg = _dataset(root / "eeg.ds", eeg=True, seed=2)
    run = root / "run"
    api.pretrain(ds, run, epochs=1, batch_size=6, hidden=8, layers=1, proj_dim=4,
                 augment="edge-drop", device="cpu", seed=0)
    return Env(root, ds, other, eeg, run)


def _invoke(args: list[object]) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def assert_clean_failure(res: Any, names: list[str], outputs: Sequence[Path] = (),
                         codes: tuple[int, ...] = (2,)) -> str:
    """Exit 2, one ``error:`` line naming one of ``names`` with a fix, no output left."""
    text = res.output
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert res.exit_code in codes, (res.exit_code, repr(res.exception), text)
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in text
    assert len(lines) == 1, text
    line = lines[0]
    assert line.startswith("error: "), line
    assert any(name in line for name in names), (names, line)
    assert FIX.search(line), line
    for out in outputs:
        assert not out.exists(), f"{out} was left behind"
        leftovers = list(out.parent.glob(f".{out.name}.*")) if out.parent.is_dir() else []
        assert not leftovers, leftovers
    return line


def _run_copy(env: Env, tmp_path: Path, checkpoint: bytes | None = None,
              config: bool = True) -> Path:
    """A copy of the module's run folder, with its checkpoint replaced or no config."""
    run = tmp_path / "foreign_run"
    shutil.copytree(env.run, run)
    if checkpoint is not None:
        (run / "checkpoint.pt").write_bytes(checkpoint)
    if not config:
        (run / "config.json").unlink()
    return run


class Payload:
    """An arbitrary Python object: torch.save pickles it with a reference to this class."""

    def __init__(self) -> None:
        self.weights = [1, 2, 3]


def _torch_bytes(obj: object, tmp_path: Path) -> bytes:
    file = tmp_path / "obj.pt"
    torch.save(obj, file)
    return file.read_bytes()


# --------------------------------------------------------------------------------------------
# build-fc fmri: ROI inputs
# --------------------------------------------------------------------------------------------


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def _cut(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def _signals(seed: int = 0, shape: tuple[int, ...] = (4, 31, 5)) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _fmri_inputs(tmp: Path) -> dict[str, tuple[list[object], list[str]]]:
    """name -> (build-fc fmri arguments before --out, names one of which the line shows)."""
    cases: dict[str, tuple[list[object], list[str]]] = {}
    cases["missing file"] = ([tmp / "nope.npz"], ["nope.npz"])
    (tmp / "empty.npz").write_bytes(b"")
    cases["empty npz"] = ([tmp / "empty.npz"], ["empty.npz"])
    (tmp / "empty.tsv").write_text("")
    cases["empty tsv"] = ([tmp / "empty.tsv"], ["empty.tsv"])
    (tmp / "sub-01_ts.1D").write_text("")
    cases["empty 1D"] = ([tmp / "sub-01_ts.1D"], ["sub-01_ts.1D"])
    cases["truncated npz"] = ([_cut(_npz(tmp / "cut.npz", timeseries=_signals()))],
                              ["cut.npz"])
    np.save(tmp / "cut.npy", _signals())
    cases["truncated npy"] = ([_cut(tmp / "cut.npy")], ["cut.npy"])
    cases["2D where 3D expected"] = (
        [_npz(tmp / "flat.npz", timeseries=_signals(shape=(31, 5)))], ["flat.npz"])
    cases["non-square matrices"] = (
        [_npz(tmp / "rect.npz", matrices=_signals(shape=(4, 5, 6))), "--input-type",
         "matrices"], ["rect.npz"])
    words = np.array([[["a", "b"], ["c", "d"], ["e", "f"]]] * 3)
    cases["string array"] = ([_npz(tmp / "words.npz", timeseries=words)], ["words.npz"])
    cases["complex array"] = (
        [_npz(tmp / "cplx.npz", timeseries=_signals() + 1j)], ["cplx.npz"])
    cases["boolean array"] = (
        [_npz(tmp / "bool.npz", timeseries=_signals() > 0)], ["bool.npz"])
    np.save(tmp / "sub-02_ts.npy", _signals(shape=(31, 5)) + 1j)
    cases["complex per-sample npy"] = ([tmp / "sub-02_ts.npy"], ["sub-02_ts.npy"])
    obj = np.empty(2, dtype=object)
    obj[:] = [np.zeros(3), "x"]
    np.save(tmp / "objects.npy", obj, allow_pickle=True)
    cases["pickled object array"] = ([tmp / "objects.npy"], ["objects.npy"])
    nan = _signals()
    nan[2, 7, 3] = np.nan
    cases["NaN time series"] = ([_npz(tmp / "nan.npz", timeseries=nan)], ["nan.npz"])
    const = _signals()
    const[1, :, 2] = 4.0
    cases["constant ROI"] = ([_npz(tmp / "const.npz", timeseries=const)], ["const.npz"])
    table = tmp / "sub-03_timeseries.tsv"
    pd.DataFrame(_signals(shape=(31, 5))).to_csv(table, sep="\t", index=False)
    text = table.read_text().splitlines()
    text[5] = "\t".join(["n/a?"] * 5)  # a row of text in the middle of the numbers
    table.write_text("\n".join(text) + "\n")
    cases["non-numeric table cell"] = ([table], ["sub-03_timeseries.tsv"])
    a, b = tmp / "sub-04_ts.tsv", tmp / "sub-05_ts.tsv"
    pd.DataFrame(_signals(1, (31, 5))).to_csv(a, sep="\t", index=False, header=False)
    pd.DataFrame(_signals(2, (31, 4))).to_csv(b, sep="\t", index=False, header=False)
    cases["samples with different nodes"] = ([a, b], ["sub-05_ts.tsv"])
    return cases


FMRI_CASES = [
    "missing file", "empty npz", "empty tsv", "empty 1D", "truncated npz", "truncated npy",
    "2D where 3D expected", "non-square matrices", "string array", "complex array",
    "boolean array", "complex per-sample npy", "pickled object array", "NaN time series",
    "constant ROI", "non-numeric table cell", "samples with different nodes",
]


@pytest.mark.parametrize("case", FMRI_CASES)
def test_build_fc_fmri_bad_roi_input(case: str, tmp_path: Path) -> None:
    args, names = _fmri_inputs(tmp_path)[case]
    out = tmp_path / "out.ds"
    res = _invoke(["build-fc", "fmri", *args, "--out", out])
    assert_clean_failure(res, names, [out])


def _stack(tmp: Path, ids: list[str]) -> Path:
    return _npz(tmp / "stack.npz", timeseries=_signals(shape=(len(ids), 31, 5)),
                subject_id=np.array(ids))


@pytest.mark.parametrize(
    ("case", "table", "extra", "names"),
    [
        ("phenotype without the id column", {"subject": ["a", "b"], "age": [1, 2]}, [],
         ["pheno.tsv", "--id-column"]),
        ("duplicate ids", {"participant_id": ["a", "a", "b"], "age": [1, 2, 3]}, [],
         ["pheno.tsv"]),
        ("no id matches", {"participant_id": ["x", "y"], "age": [1, 2]}, [], ["pheno.tsv"]),
        ("wrong --id-column", {"participant_id": ["a", "b"], "age": [1, 2]},
         ["--id-column", "pid"], ["pheno.tsv", "pid"]),
    ],
)
def test_build_fc_fmri_bad_phenotype(case: str, table: dict, extra: list[str],
                                     names: list[str], tmp_path: Path) -> None:
    pheno = tmp_path / "pheno.tsv"
    pd.DataFrame(table).to_csv(pheno, sep="\t", index=False)
    out = tmp_path / "out.ds"
    res = _invoke(["build-fc", "fmri", _stack(tmp_path, ["a", "b", "c", "d"]), "--phenotype",
                   pheno, *extra, "--out", out])
    assert_clean_failure(res, names, [out])


def test_build_fc_fmri_missing_phenotype_and_networks(tmp_path: Path) -> None:
    stack, out = _stack(tmp_path, ["a", "b", "c", "d"]), tmp_path / "out.ds"
    res = _invoke(["build-fc", "fmri", stack, "--phenotype", tmp_path / "nope.tsv",
                   "--out", out])
    assert_clean_failure(res, ["nope.tsv"], [out])
    nets = tmp_path / "nets.tsv"
    pd.DataFrame({"name": list("abc"), "network": "Visual"}).to_csv(nets, sep="\t",
                                                                   index=False)
    res = _invoke(["build-fc", "fmri", stack, "--networks", nets, "--out", out])
    assert_clean_failure(res, ["nets.tsv"], [out])


def test_build_fc_fmri_duplicate_sample_ids(tmp_path: Path) -> None:
    out = tmp_path / "out.ds"
    res = _invoke(["build-fc", "fmri", _stack(tmp_path, ["a", "b", "a", "c"]), "--out", out])
    assert_clean_failure(res, ["stack.npz"], [out])


# --------------------------------------------------------------------------------------------
# build-fc fmri: images and atlases
# --------------------------------------------------------------------------------------------

AFFINE = np.array([[4.0, 0, 0, -16], [0, 4.0, 0, -14], [0, 0, 4.0, -12], [0, 0, 0, 1]])


def _image(path: Path, shape: tuple[int, ...] = (9, 8, 7, 21), affine=AFFINE) -> Path:
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def _labels(path: Path) -> Path:
    lab = np.zeros((9, 8, 7), dtype=np.int16)
    lab[1:4, 1:7, 1:6], lab[4:6, 1:7, 1:6], lab[6:8, 1:7, 1:6] = 1, 2, 3
    nib.save(nib.Nifti1Image(lab, AFFINE), path)
    return path


@pytest.mark.parametrize("case", ["truncated", "3D", "5D", "unknown atlas",
                                  "atlas in another space", "missing atlas file"])
def test_build_fc_fmri_bad_image(case: str, tmp_path: Path) -> None:
    out = tmp_path / "out.ds"
    atlas: object = _labels(tmp_path / "labels.nii.gz")
    if case == "truncated":
        image = _cut(_image(tmp_path / "sub-01_bold.nii.gz"))
        names = ["sub-01_bold.nii.gz"]
    elif case == "3D":
        image, names = _image(tmp_path / "sub-01_bold.nii.gz", (9, 8, 7)), ["sub-01_bold"]
    elif case == "5D":
        image, names = _image(tmp_path / "sub-01_bold.nii.gz", (9, 8, 7, 4, 2)), ["sub-01_bold"]
    elif case == "unknown atlas":
        image, atlas, names = _image(tmp_path / "sub-01_bold.nii.gz"), "aal", ["aal"]
    elif case == "atlas in another space":
        far = AFFINE.copy()
        far[:3, 3] += 400.0
        image = _image(tmp_path / "sub-01_bold.nii.gz", affine=far)
        atlas, names = "schaefer100", ["sub-01_bold.nii.gz", "schaefer100"]
    else:
        image, atlas = _image(tmp_path / "sub-01_bold.nii.gz"), tmp_path / "gone.nii.gz"
        names = ["gone.nii.gz"]
    res = _invoke(["build-fc", "fmri", image, "--atlas", atlas, "--out", out])
    assert_clean_failure(res, names, [out])


# --------------------------------------------------------------------------------------------
# build-fc eeg
# --------------------------------------------------------------------------------------------

EEG_NAMES = ["C3", "Cz", "C4", "Pz"]


def _edf(path: Path, seconds: int = 6) -> Path:
    rng = np.random.default_rng(3)
    write_edf(path, rng.standard_normal((len(EEG_NAMES), 128 * seconds)) * 20.0, 128,
              EEG_NAMES)
    return path


@pytest.mark.parametrize("case", ["missing", "empty", "truncated", "header only",
                                  "unknown type", "npz without sfreq", "npz NaN",
                                  "unknown band", "window longer than recording"])
def test_build_fc_eeg_bad_input(case: str, tmp_path: Path) -> None:
    out = tmp_path / "out.ds"
    extra: list[object] = ["--fixed-length", "2"]
    if case == "missing":
        files, names = [tmp_path / "S001R01.edf"], ["S001R01.edf"]
    elif case == "empty":
        (tmp_path / "S001R01.edf").write_bytes(b"")
        files, names = [tmp_path / "S001R01.edf"], ["S001R01.edf"]
    elif case == "truncated":
        files, names = [_cut(_edf(tmp_path / "S001R01.edf"), 0.6)], ["S001R01.edf"]
    elif case == "header only":
        edf = _edf(tmp_path / "S001R01.edf")
        edf.write_bytes(edf.read_bytes()[: 256 * (1 + len(EEG_NAMES))])
        files, names = [edf], ["S001R01.edf"]
    elif case == "unknown type":
        (tmp_path / "rec.txt").write_text("1 2 3\n")
        files, names = [tmp_path / "rec.txt"], ["rec.txt"]
    elif case == "npz without sfreq":
        files = [_npz(tmp_path / "ep.npz", data=_signals(shape=(3, 4, 256)),
                      ch_names=np.array(EEG_NAMES))]
        names, extra = ["ep.npz"], []
    elif case == "npz NaN":
        data = _signals(shape=(3, 4, 256))
        data[1, 2, 5] = np.nan
        files = [_npz(tmp_path / "ep.npz", data=data, sfreq=np.float64(128),
                      ch_names=np.array(EEG_NAMES))]
        names, extra = ["ep.npz"], ["--l-freq", "0"]
    elif case == "unknown band":
        files, names = [_edf(tmp_path / "S001R01.edf")], ["--band", "theta2"]
        extra = [*extra, "--bands", "alpha,beta", "--band", "theta2"]
    else:
        files, names = [_edf(tmp_path / "S001R01.edf")], ["S001R01.edf", "--fixed-length"]
        extra = ["--fixed-length", "60"]
    res = _invoke(["build-fc", "eeg", *files, *extra, "--out", out])
    assert_clean_failure(res, names, [out])


# --------------------------------------------------------------------------------------------
# output locations: existing, interrupted, not writable
# --------------------------------------------------------------------------------------------


def test_output_that_exists_and_is_not_a_dataset(tmp_path: Path) -> None:
    stack = _stack(tmp_path, ["a", "b", "c", "d"])
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    res = _invoke(["build-fc", "fmri", stack, "--out", out])
    assert_clean_failure(res, ["results"])
    assert (out / "notes.txt").read_text() == "mine" and len(list(tmp_path.iterdir())) == 2


def test_interrupted_output_dir(tmp_path: Path) -> None:
    """A writer killed mid-way leaves a hidden temporary sibling, never the dataset itself."""
    stack = _stack(tmp_path, ["a", "b", "c", "d"])
    out = tmp_path / "x.ds"
    stale = tmp_path / ".x.ds.tmp-0badc0de"
    stale.mkdir()
    np.save(stale / "fc.npy", np.zeros((4, 5, 5), np.float32))
    # the leftover is not a dataset: reading it fails cleanly
    res = _invoke(["info", stale])
    assert_clean_failure(res, [".x.ds.tmp-0badc0de"])
    # an interrupted build to the same --out does not block the next one
    res = _invoke(["build-fc", "fmri", stack, "--out", out, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["n_samples"] == 4
    # a dataset folder that lost its meta.json is refused as an input
    (out / "meta.json").unlink()
    res = _invoke(["probe", out, "--label", "group"])
    assert_clean_failure(res, ["x.ds"])


@pytest.mark.parametrize("command", ["build-fc", "merge-fc", "simulate", "pretrain", "embed",
                                     "probe", "ablate", "importance", "report", "demo"])
def test_output_under_a_regular_file(command: str, env: Env, tmp_path: Path) -> None:
    """--out below a file cannot be created (the error is the same for root)."""
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    out = blocker / "sub" / "out"
    args: dict[str, list[object]] = {
        "build-fc": ["build-fc", "fmri", _stack(tmp_path, list("abcd")), "--out", out],
        "merge-fc": ["merge-fc", env.ds, "--out", out],
        "simulate": ["simulate", "--subjects", "10", "--out", out],
        "pretrain": ["pretrain", env.ds, "--epochs", "1", "--hidden", "8", "--layers", "1",
                     "--device", "cpu", "--out", out],
        "embed": ["embed", env.run, env.ds, "--out", out.with_suffix(".csv")],
        "probe": ["probe", env.ds, "--label", "group", "--cv", "2", "--repeats", "1",
                  "--probes", "linear", "--baselines", "chance", "--out",
                  out.with_suffix(".csv")],
        "ablate": ["ablate", env.ds, "--label", "group", "--null", "0", "--cv", "2",
                   "--repeats", "1", "--mode", "drop", "--out", out],
        "importance": ["importance", env.ds, "--label", "group", "--methods", "haufe", "--cv",
                       "2", "--out", out],
        "report": ["report", env.ds, "--out", out.with_suffix(".html")],
        "demo": ["demo", "--quick", "--device", "cpu", "--out", out],
    }
    res = _invoke(args[command])
    assert_clean_failure(res, ["afile"])
    assert blocker.read_text() == "x"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_read_only_output_location(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions (see test_output_under_a_regular_file)")
    stack = _stack(tmp_path, list("abcd"))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        res = _invoke(["build-fc", "fmri", stack, "--out", locked / "x.ds"])
        assert_clean_failure(res, ["locked"], [locked / "x.ds"])
    finally:
        locked.chmod(0o755)


# --------------------------------------------------------------------------------------------
# datasets as inputs: info, merge-fc, pretrain
# --------------------------------------------------------------------------------------------


def _damaged(env: Env, tmp_path: Path, case: str) -> Path:
    ds = tmp_path / "damaged.ds"
    shutil.copytree(env.ds, ds)
    if case == "meta not JSON":
        (ds / "meta.json").write_text("{not json")
    elif case == "future schema":
        meta = json.loads((ds / "meta.json").read_text())
        (ds / "meta.json").write_text(json.dumps({**meta, "schema_version": 99}))
    elif case == "truncated fc.npy":
        _cut(ds / "fc.npy")
    elif case == "fc.npy of another shape":
        np.save(ds / "fc.npy", np.zeros((3, 4, 4), np.float32))
    elif case == "no subjects.tsv":
        (ds / "subjects.tsv").unlink()
    elif case == "empty subjects.tsv":
        (ds / "subjects.tsv").write_text("")
    return ds


DAMAGE = ["meta not JSON", "future schema", "truncated fc.npy", "fc.npy of another shape",
          "no subjects.tsv", "empty subjects.tsv"]


@pytest.mark.parametrize("case", DAMAGE)
def test_info_on_damaged_dataset(case: str, env: Env, tmp_path: Path) -> None:
    res = _invoke(["info", _damaged(env, tmp_path, case)])
    assert_clean_failure(res, ["damaged.ds"])


def test_info_on_missing_and_non_dataset(tmp_path: Path) -> None:
    assert_clean_failure(_invoke(["info", tmp_path / "nope.ds"]), ["nope.ds"])
    (tmp_path / "plain").mkdir()
    assert_clean_failure(_invoke(["info", tmp_path / "plain"]), ["plain"])


def test_merge_fc_bad_shards(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "merged.ds"
    res = _invoke(["merge-fc", env.ds, env.other, "--out", out])
    assert_clean_failure(res, ["other.ds"], [out])
    res = _invoke(["merge-fc", env.ds, tmp_path / "missing.ds", "--out", out])
    assert_clean_failure(res, ["missing.ds"], [out])


def test_pretrain_bad_input(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "run"
    fast = ["--epochs", "1", "--hidden", "8", "--layers", "1", "--device", "cpu"]
    res = _invoke(["pretrain", tmp_path / "nope.ds", *fast, "--out", out])
    assert_clean_failure(res, ["nope.ds"], [out])
    res = _invoke(["pretrain", _damaged(env, tmp_path, "truncated fc.npy"), *fast,
                   "--out", out])
    assert_clean_failure(res, ["damaged.ds"], [out])
    res = _invoke(["pretrain", env.ds, *fast, "--config", tmp_path / "cfg.json", "--out", out])
    assert_clean_failure(res, ["cfg.json"], [out])
    (tmp_path / "bad.json").write_text("[1, 2]")
    res = _invoke(["pretrain", env.ds, *fast, "--config", tmp_path / "bad.json", "--out", out])
    assert_clean_failure(res, ["bad.json"], [out])
    res = _invoke(["pretrain", env.ds, *fast, "--encoder", "resnet", "--out", out])
    assert_clean_failure(res, ["resnet"], [out])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    res = _invoke(["pretrain", env.ds, *fast, "--out", busy])
    assert_clean_failure(res, ["busy"])
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]
    res = _invoke(["pretrain", env.ds, *fast, "--resume", "--out", busy])
    assert_clean_failure(res, ["busy"])


def test_pretrain_resume_with_foreign_checkpoint(env: Env, tmp_path: Path) -> None:
    run = _run_copy(env, tmp_path, checkpoint=os.urandom(3000))
    res = _invoke(["pretrain", env.ds, "--resume", "--out", run])
    assert_clean_failure(res, ["checkpoint.pt"])


# --------------------------------------------------------------------------------------------
# run folders: embed, probe, ablate, importance
# --------------------------------------------------------------------------------------------

FOREIGN = ["random bytes", "empty file", "truncated", "pickled object", "plain dict",
           "wrong weights", "no checkpoint", "no config", "config not JSON"]


def _foreign_run(case: str, env: Env, tmp_path: Path) -> tuple[Path, list[str]]:
    real = (env.run / "checkpoint.pt").read_bytes()
    if case == "random bytes":
        return _run_copy(env, tmp_path, os.urandom(4096)), ["checkpoint.pt"]
    if case == "empty file":
        return _run_copy(env, tmp_path, b""), ["checkpoint.pt"]
    if case == "truncated":
        return _run_copy(env, tmp_path, real[: len(real) // 2]), ["checkpoint.pt"]
    if case == "pickled object":
        return _run_copy(env, tmp_path, _torch_bytes(Payload(), tmp_path)), ["checkpoint.pt"]
    if case == "plain dict":
        state = {"model": {"w": torch.zeros(3)}, "epoch": 1}
        return _run_copy(env, tmp_path, _torch_bytes(state, tmp_path)), ["checkpoint.pt"]
    if case == "wrong weights":
        state = torch.load(env.run / "checkpoint.pt", weights_only=True)
        state["model"] = {k: torch.zeros(1) for k in state["model"]}
        return _run_copy(env, tmp_path, _torch_bytes(state, tmp_path)), ["checkpoint.pt"]
    if case == "no checkpoint":
        run = _run_copy(env, tmp_path)
        (run / "checkpoint.pt").unlink()
        return run, ["checkpoint.pt"]
    if case == "no config":
        return _run_copy(env, tmp_path, config=False), ["foreign_run"]
    run = _run_copy(env, tmp_path)
    (run / "config.json").write_bytes(pickle.dumps({"encoder": "gin"}))
    return run, ["foreign_run", "config.json"]


@pytest.mark.parametrize("case", FOREIGN)
def test_embed_with_foreign_run(case: str, env: Env, tmp_path: Path) -> None:
    run, names = _foreign_run(case, env, tmp_path)
    out = tmp_path / "emb.csv"
    res = _invoke(["embed", run, env.ds, "--out", out])
    assert_clean_failure(res, names, [out])


@pytest.mark.parametrize("command", ["probe", "ablate", "importance"])
@pytest.mark.parametrize("case", ["pickled object", "random bytes", "no config"])
def test_analysis_with_foreign_run(command: str, case: str, env: Env, tmp_path: Path) -> None:
    run, names = _foreign_run(case, env, tmp_path)
    out = tmp_path / ("out.csv" if command == "probe" else "out")
    extra = {"probe": ["--cv", "2", "--repeats", "1", "--probes", "linear"],
             "ablate": ["--null", "0", "--cv", "2", "--repeats", "1", "--mode", "drop"],
             "importance": ["--methods", "occlusion", "--cv", "2"]}[command]
    res = _invoke([command, run, env.ds, "--label", "group", *extra, "--out", out])
    assert_clean_failure(res, names, [out])


def test_embed_bad_dataset_and_out(env: Env, tmp_path: Path) -> None:
    res = _invoke(["embed", env.run, env.other, "--out", tmp_path / "e.csv"])
    assert_clean_failure(res, ["other.ds"], [tmp_path / "e.csv"])
    res = _invoke(["embed", env.run, env.ds, "--out", tmp_path / "e.parquet"])
    assert_clean_failure(res, ["e.parquet"], [tmp_path / "e.parquet"])
    res = _invoke(["embed", env.run, env.eeg, "--out", tmp_path / "e.csv"])
    assert_clean_failure(res, ["eeg.ds"], [tmp_path / "e.csv"])


@pytest.mark.parametrize("command", ["probe", "ablate", "importance"])
@pytest.mark.parametrize("case", ["wrong label", "band of an fMRI dataset", "unknown band",
                                  "missing dataset", "unknown group column"])
def test_analysis_bad_options(command: str, case: str, env: Env, tmp_path: Path) -> None:
    out = tmp_path / ("out.csv" if command == "probe" else "out")
    ds, options, names = env.ds, ["--label", "group"], []
    if case == "wrong label":
        options, names = ["--label", "diagnosis"], ["diagnosis"]
    elif case == "band of an fMRI dataset":
        options, names = [*options, "--band", "alpha"], ["toy.ds", "--band"]
    elif case == "unknown band":
        ds, options, names = env.eeg, [*options, "--band", "gamma"], ["eeg.ds", "gamma"]
    elif case == "missing dataset":
        ds, names = tmp_path / "nope.ds", ["nope.ds"]
    else:
        options, names = [*options, "--group", "family"], ["family"]
    extra = {"probe": ["--cv", "2", "--repeats", "1", "--probes", "linear"],
             "ablate": ["--null", "0", "--cv", "2", "--repeats", "1", "--mode", "drop"],
             "importance": ["--methods", "haufe", "--cv", "2"]}[command]
    res = _invoke([command, ds, *options, *extra, "--out", out])
    assert_clean_failure(res, names, [out])


def test_probe_bad_embeddings(env: Env, tmp_path: Path) -> None:
    emb = tmp_path / "emb.csv"
    pd.DataFrame({"sample_id": ["sub-00", "sub-01"], "emb_0": [1.0, 2.0]}).to_csv(emb,
                                                                                index=False)
    res = _invoke(["probe", emb, env.ds, "--label", "group"])
    assert_clean_failure(res, ["emb.csv"])
    (tmp_path / "empty.csv").write_text("")
    res = _invoke(["probe", tmp_path / "empty.csv", env.ds, "--label", "group"])
    assert_clean_failure(res, ["empty.csv"])


def test_ablate_unknown_network_and_bad_table(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "abl"
    res = _invoke(["ablate", env.ds, "--label", "group", "--only", "Salience", "--null", "0",
                   "--out", out])
    assert_clean_failure(res, ["Salience"], [out])
    nets = tmp_path / "nets.tsv"
    pd.DataFrame({"name": NODE_NAMES[:4], "network": "Visual"}).to_csv(nets, sep="\t",
                                                                     index=False)
    res = _invoke(["ablate", env.ds, "--label", "group", "--networks", nets, "--null", "0",
                   "--out", out])
    assert_clean_failure(res, ["nets.tsv"], [out])


@pytest.mark.parametrize("atlas", ["aal", "schaefer100", "labels file", "missing file"])
def test_importance_wrong_atlas(atlas: str, env: Env, tmp_path: Path) -> None:
    out = tmp_path / "maps"
    names = [atlas]
    if atlas == "labels file":
        atlas, names = str(_labels(tmp_path / "labels.nii.gz")), ["labels.nii.gz"]
    elif atlas == "missing file":
        atlas, names = str(tmp_path / "gone.nii.gz"), ["gone.nii.gz"]
    res = _invoke(["importance", env.ds, "--label", "group", "--methods", "haufe",
                   "--atlas", atlas, "--out", out])
    assert_clean_failure(res, names, [out])


# --------------------------------------------------------------------------------------------
# report, simulate
# --------------------------------------------------------------------------------------------


def test_report_on_folders_that_are_not_runs(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_failure(_invoke(["report", empty]), ["empty"], [empty / "report.html"])
    assert_clean_failure(_invoke(["report", tmp_path / "nope"]), ["nope"])
    (tmp_path / "file.txt").write_text("x")
    assert_clean_failure(_invoke(["report", tmp_path / "file.txt"]), ["file.txt"])


@pytest.mark.parametrize(("args", "names"), [
    (["--planted-network", "Olfactory"], ["Olfactory"]),
    (["--atlas", "aal"], ["aal"]),
    (["--subjects", "3"], ["--subjects", "n_subjects"]),
])
def test_simulate_bad_options(args: list[str], names: list[str], tmp_path: Path) -> None:
    out = tmp_path / "sim.ds"
    res = _invoke(["simulate", *args, "--out", out])
    assert_clean_failure(res, names, [out])


def test_report_out_is_a_folder(env: Env, tmp_path: Path) -> None:
    folder = tmp_path / "page.html"
    folder.mkdir()
    res = _invoke(["report", env.ds, "--out", folder])
    assert_clean_failure(res, ["page.html"])
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"] and not any(folder.iterdir())


def test_file_system_refusal_is_one_line(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """An OS error that no check foresaw still gives one line (exit 1), no traceback."""
    from neurocl import api

    def refuse(dataset: object) -> None:
        raise PermissionError(13, "Permission denied", str(dataset))

    monkeypatch.setattr(api, "info", refuse)
    res = _invoke(["info", env.ds])
    assert_clean_failure(res, ["toy.ds"], codes=(1,))
    assert "Permission denied" in res.output


def test_list_unknown_component() -> None:
    assert_clean_failure(_invoke(["list", "widgets"]), ["widgets"])


# --------------------------------------------------------------------------------------------
# --debug
# --------------------------------------------------------------------------------------------


def test_debug_raises_instead_of_one_line(env: Env, tmp_path: Path) -> None:
    from neurocl._core.errors import CheckpointError, ParameterError

    run, _ = _foreign_run("pickled object", env, tmp_path)
    res = runner.invoke(app, ["--debug", "embed", str(run), str(env.ds), "--out",
                              str(tmp_path / "e.csv")])
    assert isinstance(res.exception, CheckpointError) and "error:" not in res.output
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    res = runner.invoke(app, ["--debug", "simulate", "--out", str(blocker / "x.ds")])
    assert isinstance(res.exception, ParameterError)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ds"
    plain = subprocess.run([sys.executable, "-m", "neurocl", "info", str(missing)],
                           capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert [ln for ln in plain.stderr.splitlines() if ln.strip()] == [
        f"error: {missing}: not a dataset directory; build one with `neurocl build-fc`"]
    debug = subprocess.run([sys.executable, "-m", "neurocl", "--debug", "info", str(missing)],
                           capture_output=True, text=True, timeout=120)
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert "DatasetError" in debug.stderr

