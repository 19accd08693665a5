"""Pretraining runs: files, repeatability, resume, NaN, checkpoints, bad input, real data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from neurocl._core.errors import CheckpointError, DatasetError, ParameterError, TrainingError
from neurocl.data.dataset import write_dataset
from neurocl.ssl.objectives.ntxent import NTXentLoss
from neurocl.train import PretrainConfig, load_run, pretrain
from neurocl.train.checkpoint import FORMAT, FORMAT_VERSION, load_checkpoint
from neurocl.train.device import resolve_device
from neurocl.train.schedule import warmup_cosine

S, T, N = 11, 40, 7
FAST = {"hidden": 8, "layers": 2, "batch_size": 4, "proj_dim": 6, "device": "cpu",
        "warmup_epochs": 1}


def make_dataset(path, *, atlas="toy", timeseries=True, kind="correlation", names=None,
                 seed=0):
    rng = np.random.default_rng(seed)
    ts = rng.standard_normal((S, T, N)).astype(np.float32)
    ts[:, :, 1] += ts[:, :, 0]  # some structure
    fc = np.stack([np.corrcoef(x.T) for x in ts])
    subjects = pd.DataFrame({"sample_id": [f"sub-{i:02d}" for i in range(S)],
                             "subject_id": [f"sub-{i:02d}" for i in range(S)],
                             "group": ["a", "b"] * 5 + ["a"], "age": rng.uniform(5, 30, S)})
    nodes = pd.DataFrame({"name": names or [f"roi{i}" for i in range(N)],
                          "network": ["Visual"] * 3 + ["Default"] * 4})
    return write_dataset(path, fc=fc, subjects=subjects, nodes=nodes,
                         meta={"modality": "fmri", "kind": kind, "atlas": atlas,
                               "fisher_z": False},
                         timeseries=ts if timeseries else None)


@pytest.fixture
def ds(tmp_path):
    return make_dataset(tmp_path / "toy.ds")


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_schedule_warms_up_then_decays():
    values = [warmup_cosine(s, 3, 10) for s in range(10)]
    assert values[:3] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert values[3] == 1.0 and values[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(values[2:], values[3:], strict=False))


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ParameterError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="no GPU"):
            resolve_device("cuda")


def test_pretrain_writes_a_complete_run(ds, tmp_path):
    run = pretrain(ds, tmp_path / "run", epochs=3, augment="fc-crop,edge-drop:p=0.3", **FAST)
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert files == {"config.json", "checkpoint.pt", "history.csv", "loss_curve.png"}
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["encoder"] == "gin" and config["epochs"] == 3
    assert config["augment"] == [{"name": "fc-crop", "length": 0.5, "fisher_z": False},
                                 {"name": "edge-drop", "p": 0.3}]
    assert config["dataset"]["node_names"] == [f"roi{i}" for i in range(N)]
    assert config["dataset"]["atlas"] == "toy" and config["embedding_dim"] == 8
    hist = pd.read_csv(tmp_path / "run" / "history.csv")
    assert hist["epoch"].tolist() == [1, 2, 3] and np.isfinite(hist["loss"]).all()
    assert (hist["graphs_per_s"] > 0).all()
    data = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert data["epoch"] == 3 and data["format"] == FORMAT
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.uint8
               for k, v in data["rng"].items() if k != "cuda")
    assert (tmp_path / "run" / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    emb = run.embed(ds)
    assert emb.shape == (S, 8) and emb.dtype == np.float32 and np.isfinite(emb).all()
    assert not list(tmp_path.glob("run/.*"))  # no temporary files left


def test_same_seed_same_embeddings_other_seed_differs(ds, tmp_path):
    a = pretrain(ds, tmp_path / "a", epochs=2, seed=3, **FAST)
    b = pretrain(ds, tmp_path / "b", epochs=2, seed=3, **FAST)
    c = pretrain(ds, tmp_path / "c", epochs=2, seed=4, **FAST)
    assert a.history["loss"].tolist() == b.history["loss"].tolist()
    np.testing.assert_array_equal(a.embed(ds), b.embed(ds))
    assert not np.allclose(a.embed(ds), c.embed(ds))


def test_untrained_embedding_is_the_seeded_initial_encoder(ds, tmp_path):
    run = pretrain(ds, tmp_path / "run", epochs=2, **FAST)
    other = pretrain(ds, tmp_path / "other", epochs=1, **FAST)
    u1, u2 = run.embed(ds, untrained=True), other.embed(ds, untrained=True)
    np.testing.assert_array_equal(u1, u2)
    assert not np.allclose(u1, run.embed(ds))


def test_embed_with_an_fc_override(ds, tmp_path):
    run = pretrain(ds, tmp_path / "run", epochs=1, **FAST)
    base = run.embed(ds)
    np.testing.assert_allclose(run.embed(ds, fc=np.asarray(ds.fc)), base, rtol=1e-6)
    masked = np.array(ds.fc)
    masked[:, :3, :] = 0
    masked[:, :, :3] = 0
    assert not np.allclose(run.embed(ds, fc=masked), base)
    with pytest.raises(ParameterError, match="fc must have shape"):
        run.embed(ds, fc=masked[:5])


def test_resume_continues_exactly(ds, tmp_path):
    full = pretrain(ds, tmp_path / "full", epochs=4, **FAST)

    def stop_after_two(stage, done, total, **info):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pretrain(ds, tmp_path / "cut", epochs=4, progress=stop_after_two, **FAST)
    assert load_run(tmp_path / "cut").epochs_done == 2
    resumed = pretrain(ds, tmp_path / "cut", resume=True)
    assert resumed.history["epoch"].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(resumed.history["loss"], full.history["loss"], rtol=1e-6)
    np.testing.assert_array_equal(resumed.embed(ds), full.embed(ds))


def test_resume_refuses_other_options_and_a_missing_run(ds, tmp_path):
    pretrain(ds, tmp_path / "run", epochs=1, **FAST)
    before = _snapshot(tmp_path / "run")
    with pytest.raises(ParameterError, match=r"hidden=16 \(run: 8\)"):
        pretrain(ds, tmp_path / "run", resume=True, hidden=16)
    assert _snapshot(tmp_path / "run") == before
    with pytest.raises(CheckpointError, match="not a run folder"):
        pretrain(ds, tmp_path / "nothing", resume=True)
    assert not (tmp_path / "nothing").exists()


def test_existing_out_is_not_overwritten_without_asking(ds, tmp_path):
    pretrain(ds, tmp_path / "run", epochs=1, **FAST)
    before = _snapshot(tmp_path / "run")
    with pytest.raises(ParameterError, match="already exists"):
        pretrain(ds, tmp_path / "run", epochs=1, **FAST)
    assert _snapshot(tmp_path / "run") == before
    pretrain(ds, tmp_path / "run", epochs=2, overwrite=True, **FAST)
    assert load_run(tmp_path / "run").epochs_done == 2


def test_nan_loss_raises_and_keeps_the_last_good_checkpoint(ds, tmp_path, monkeypatch):
    calls = {"n": 0}
    original = NTXentLoss.__call__

    def flaky(self, views, generator=None):
        calls["n"] += 1
        loss = original(self, views, generator)
        return loss * float("nan") if calls["n"] > 3 else loss  # 3 steps = epoch 1

    monkeypatch.setattr(NTXentLoss, "__call__", flaky)
    with pytest.raises(TrainingError, match="NaN or infinite in epoch 2; the checkpoint of "
                                            "epoch 1 is kept"):
        pretrain(ds, tmp_path / "run", epochs=3, **FAST)
    run = load_run(tmp_path / "run")
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["epoch"] == 1
    assert np.isfinite(run.embed(ds)).all()


def test_batch_size_larger_than_dataset_is_reduced_with_a_warning(ds, tmp_path):
    with pytest.warns(UserWarning, match="batch size 64 is larger than the dataset"):
        run = pretrain(ds, tmp_path / "run", epochs=1, **{**FAST, "batch_size": 64})
    assert run.warnings and len(run.history) == 1


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"encoder": "resnet"}, ParameterError, "valid encoders: brainnetcnn"),
        ({"objective": "byol"}, ParameterError, "valid objectives: .*dcl"),
        ({"augment": "fc-crop,mixup"}, ParameterError, "valid views: .*edge-drop"),
        ({"objective": "ntxent", "n_views": 3}, ParameterError, "multiview-infonce"),
        ({"encoder": "brainnetcnn", "augment": "feature-mask"}, ParameterError, "do nothing"),
        ({"sparsify": "topk:2"}, ParameterError, "density"),
        ({"lr": -1.0}, ParameterError, "lr must be > 0"),
        ({"augment": "fc-crop:length=99"}, ParameterError, "between 3 and 40"),
    ],
)
def test_bad_options_write_nothing(ds, tmp_path, options, error, message):
    with pytest.raises(error, match=message):
        pretrain(ds, tmp_path / "run", epochs=1, **{**FAST, **options})
    assert not (tmp_path / "run").exists()


def test_fc_crop_needs_time_series(tmp_path):
    no_ts = make_dataset(tmp_path / "nots.ds", timeseries=False)
    with pytest.raises(DatasetError, match="has no time series, which the fc-crop view needs"):
        pretrain(no_ts, tmp_path / "run", epochs=1, **FAST)
    assert not (tmp_path / "run").exists()
    run = pretrain(no_ts, tmp_path / "run", epochs=1, augment="edge-drop,feature-mask", **FAST)
    assert run.epochs_done == 1


def test_fc_crop_refuses_a_non_correlation_dataset(tmp_path):
    ds = make_dataset(tmp_path / "cov.ds", kind="covariance")
    with pytest.raises(ParameterError, match="kind is 'covariance'"):
        pretrain(ds, tmp_path / "run", epochs=1, **FAST)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"atlas": "other"}, "atlas 'toy' but"),
        ({"names": [f"roi{i}" for i in (1, 0, 2, 3, 4, 5, 6)]}, "node 0 is 'roi0'"),
        ({"kind": "covariance"}, "FC kind 'correlation'"),
    ],
)
def test_run_refuses_a_dataset_of_another_atlas(ds, tmp_path, changes, message):
    run = pretrain(ds, tmp_path / "run", epochs=1, **FAST)
    other = make_dataset(tmp_path / "other.ds", **changes)
    with pytest.raises(CheckpointError, match=message):
        run.embed(other)
    with pytest.raises(CheckpointError, match=message):
        pretrain(other, tmp_path / "run", resume=True)


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize("kind", ["pickle", "truncated", "foreign", "other-model", "garbage"])
def test_bad_checkpoints_are_refused_and_left_alone(ds, tmp_path, kind):
    pretrain(ds, tmp_path / "run", epochs=1, **FAST)
    file = tmp_path / "run" / "checkpoint.pt"
    if kind == "pickle":
        torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, "epoch": 1,
                    "model": _Payload()}, file)
        message = "pickled Python objects"
    elif kind == "truncated":
        file.write_bytes(file.read_bytes()[:200])
        message = "corrupted or truncated"
    elif kind == "foreign":
        torch.save({"weight": torch.zeros(3)}, file)
        message = "not a neurocl pretraining checkpoint"
    elif kind == "other-model":
        pretrain(ds, tmp_path / "big", epochs=1, **{**FAST, "hidden": 12})
        file.write_bytes((tmp_path / "big" / "checkpoint.pt").read_bytes())
        message = "another run"
    else:
        file.write_bytes(b"not a checkpoint at all")
        message = "corrupted or truncated"
    before = _snapshot(tmp_path / "run")
    with pytest.raises(CheckpointError, match=message):
        load_run(tmp_path / "run").embed(ds)
    with pytest.raises(CheckpointError, match=message):
        pretrain(ds, tmp_path / "run", resume=True)
    assert _snapshot(tmp_path / "run") == before


def test_load_run_refuses_a_folder_without_config(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(CheckpointError, match="not a run folder"):
        load_run(tmp_path / "x")
    (tmp_path / "x" / "config.json").write_text("{broken")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_run(tmp_path / "x")


def test_config_replay_and_unknown_keys(ds, tmp_path):
    first = pretrain(ds, tmp_path / "a", epochs=2, encoder="sage", **FAST)
    second = pretrain(ds, tmp_path / "b", config=tmp_path / "a" / "config.json")
    assert second.options == first.options
    np.testing.assert_array_equal(first.embed(ds), second.embed(ds))
    third = pretrain(ds, tmp_path / "c", config=tmp_path / "a" / "config.json", epochs=1)
    assert third.options.encoder == "sage" and third.options.epochs == 1
    with pytest.raises(ParameterError, match="unknown pretrain option colour"):
        PretrainConfig.resolve({"colour": "red"})


@pytest.mark.parametrize(
    ("objective", "n_views", "augment"),
    [("ntxent", 2, "edge-drop,node-drop"), ("dcl", 2, "fc-crop,feature-mask"),
     ("multiview-infonce", 3, "fc-crop,edge-noise"), ("vicreg", 2, "fc-crop")],
)
def test_each_objective_trains(ds, tmp_path, objective, n_views, augment):
    run = pretrain(ds, tmp_path / "run", epochs=2, objective=objective, n_views=n_views,
                   augment=augment, **FAST)
    assert all(math.isfinite(v) for v in run.history["loss"])


@pytest.mark.parametrize("encoder", ["gcn", "gat", "brainnetcnn", "transformer"])
def test_each_encoder_trains(ds, tmp_path, encoder):
    run = pretrain(ds, tmp_path / "run", epochs=1, encoder=encoder, **FAST)
    assert run.embed(ds).shape == (S, 8)


def test_pretrain_on_real_development_data(test_data, tmp_path):
    z = np.load(test_data / "development_fmri" / "timeseries_aal116.npz", allow_pickle=False)
    ts = z["timeseries"][:24]
    from neurocl.connectivity import ConnectivityEstimator

    fc = ConnectivityEstimator("correlation").fit_transform(ts)
    subjects = pd.DataFrame({"sample_id": z["subject_id"][:24], "subject_id": z["subject_id"][:24],
                             "child_adult": z["child_adult"][:24]})
    nodes = pd.DataFrame({"name": [f"aal{i}" for i in range(116)], "network": ["None"] * 116})
    ds = write_dataset(tmp_path / "dev.ds", fc=fc, subjects=subjects, nodes=nodes,
                       meta={"modality": "fmri", "kind": "correlation", "atlas": "aal116"},
                       timeseries=ts)
    run = pretrain(ds, tmp_path / "run", epochs=2, batch_size=12, hidden=16, device="cpu")
    emb = run.embed(ds)
    assert emb.shape == (24, 16) and np.isfinite(emb).all()
    assert np.isfinite(run.history["loss"]).all()
