"""Several processes (DDP, gloo on CPU) and fault tolerance (SIGKILL, then --resume)."""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import torch

from neurocl.data.dataset import write_dataset
from neurocl.train import load_run
from neurocl.train.checkpoint import load_checkpoint
from neurocl.train.distributed import DistributedContext

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="this torch build has no torch.distributed"
)

S, T, N = 24, 37, 9  # S divisible by the global batch of 8 and by 2 processes
#: fixed views (no random change) and LayerNorm: the loss does not depend on how the
#: global batch is split over processes, only on which samples it holds
FIXED = ["--encoder", "gin", "--objective", "ntxent", "--augment", "edge-noise:sigma=0",
         "--hidden", "8", "--layers", "2", "--proj-dim", "6", "--norm", "layer",
         "--batch-size", "8", "--warmup-epochs", "1", "--device", "cpu", "--seed", "5"]


def make_dataset(path, seed=0):
    rng = np.random.default_rng(seed)
    ts = rng.standard_normal((S, T, N)).astype(np.float32)
    ts[:, :, 1] += ts[:, :, 0]
    ts[::2, :, 4] += ts[::2, :, 3]  # two groups of subjects
    fc = np.stack([np.corrcoef(x.T) for x in ts])
    ids = [f"sub-{i:02d}" for i in range(S)]
    subjects = pd.DataFrame({"sample_id": ids, "subject_id": ids})
    nodes = pd.DataFrame({"name": [f"roi{i}" for i in range(N)],
                          "network": ["Visual"] * 4 + ["Default"] * 5})
    return write_dataset(path, fc=fc, subjects=subjects, nodes=nodes,
                         meta={"modality": "fmri", "kind": "correlation", "atlas": "toy",
                               "fisher_z": False},
                         timeseries=ts)


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("dist") / "toy.ds")


def _env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # stay on the loopback interface
    return env


def _torchrun(nproc, *args, timeout=120):
    """Run torchrun; on a timeout kill the launcher and its workers, then fail."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s: {err[-2000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


#: trains a few steps on explicit global batches, each rank taking its share
STEP_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, torch
    from neurocl.data.dataset import load_dataset
    from neurocl.train.config import PretrainConfig
    from neurocl.train.distributed import shutdown
    from neurocl.train.fit import Trainer

    def main(dataset, out):
        ds = load_dataset(dataset)
        results = {}
        for objective, n_views in (("ntxent", 2), ("dcl", 2), ("multiview-infonce", 3),
                                   ("vicreg", 2)):
            cfg = PretrainConfig.resolve(
                {}, encoder="gin", objective=objective, n_views=n_views,
                augment="edge-noise:sigma=0", hidden=8, layers=2, proj_dim=6, norm="layer",
                batch_size=8, device="cpu", seed=0, warmup_epochs=1, epochs=2, lr=0.01)
            trainer = Trainer(ds, cfg)
            world, rank = trainer.dist.world_size, trainer.dist.rank
            order = np.random.default_rng(1).permutation(ds.n_samples)
            losses, local = [], []
            for k in range(3):
                batch = trainer.loader.load(order[8 * k: 8 * (k + 1)][rank::world])
                with torch.no_grad():  # the loss of this rank's share alone
                    z = trainer.model(trainer.views(batch).fc).chunk(n_views)
                    local.append(float(trainer.objective(list(z))))
                losses.append(trainer.step(batch))
                if k == 0:  # gradients of the first step (same weights in both runs)
                    grads = torch.cat([p.grad.flatten() for p in trainer.model.parameters()
                                       if p.grad is not None])
            params = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
            results[objective] = {"losses": losses, "local": local, "params": params.tolist(),
                                  "grads": grads.tolist(), "world": world}
        if trainer.dist.is_main:
            with open(out, "w") as f:
                json.dump(results, f)
        shutdown()

    if __name__ == "__main__":
        main(sys.argv[1], sys.argv[2])
""")


def test_context_without_torchrun_is_the_identity():
    ctx = DistributedContext()
    z = torch.randn(5, 3, requires_grad=True)
    assert ctx.gather(z) is z and not ctx.enabled and ctx.is_main
    assert ctx.split_batch(7) == (7, 7) and ctx.min_local_batch() == 2
    two = DistributedContext(rank=1, world_size=2)
    assert two.split_batch(9) == (8, 4) and two.min_local_batch() == 1
    assert two.seed(3) != DistributedContext().seed(3) == 3
    with pytest.raises(ValueError, match="batch size 1 is smaller than the 2 processes"):
        two.split_batch(1)


def test_sampler_shares_make_up_the_global_batches():
    one = DistributedContext().sampler(22, seed=4)
    shares = [DistributedContext(rank=r, world_size=2).sampler(22, seed=4) for r in (0, 1)]
    for epoch in (0, 3):
        for s in (one, *shares):
            s.set_epoch(epoch)
        full = list(one)
        a, b = (list(s) for s in shares)
        for k in range(0, 11, 4):  # local batches of 4 = global batches of 8
            assert sorted(a[k:k + 4] + b[k:k + 4]) == sorted(full[2 * k:2 * k + 8])
    one.set_epoch(1)
    first = list(one)
    one.set_epoch(2)
    assert first != list(one)  # a new order every epoch


@pytest.mark.slow  # starts 2 gloo processes under torchrun; seen to hang once in CI sandboxes
def test_two_processes_give_the_single_process_loss_and_weights(ds, tmp_path):
    """Negatives and VICReg statistics are gathered with gradients across 2 gloo processes."""
    script = tmp_path / "steps.py"
    script.write_text(STEP_SCRIPT)
    single, double = tmp_path / "one.json", tmp_path / "two.json"
    res = _torchrun(2, str(script), str(ds.path), str(double))
    assert res.returncode == 0, res.stderr[-2000:]
    runpy.run_path(str(script))["main"](ds.path, single)  # one process, here
    one, two = json.loads(single.read_text()), json.loads(double.read_text())
    for objective in ("ntxent", "dcl", "multiview-infonce", "vicreg"):
        assert one[objective]["world"] == 1 and two[objective]["world"] == 2
        one_loss, two_loss = one[objective]["losses"], two[objective]["losses"]
        np.testing.assert_allclose(two_loss[0], one_loss[0], rtol=1e-6, err_msg=objective)
        # the same gradients (DDP averages the ranks' gradients of the gathered loss)
        g1, g2 = np.asarray(one[objective]["grads"]), np.asarray(two[objective]["grads"])
        assert np.linalg.norm(g2 - g1) < 1e-4 * np.linalg.norm(g1), objective
        # and so the same training
        np.testing.assert_allclose(two_loss, one_loss, rtol=1e-4, err_msg=objective)
        if objective != "vicreg":  # VICReg is blind to a shift of the projections: the
            # last bias has a zero gradient up to rounding, which AdamW turns into lr steps
            np.testing.assert_allclose(two[objective]["params"], one[objective]["params"],
                                       atol=1e-4, err_msg=objective)
        # a rank's share alone gives another loss (by far more than the tolerance above):
        # the equality needs the gathered rows
        assert abs(two[objective]["local"][0] - one_loss[0]) > 1e-5 * abs(one_loss[0]), \
            objective


@pytest.mark.slow
def test_torchrun_pretrain_writes_one_loadable_run(ds, tmp_path):
    out2, out1 = tmp_path / "two", tmp_path / "one"
    res = _torchrun(2, "-m", "neurocl", "pretrain", str(ds.path), "--out", str(out2),
                    "--epochs", "2", *FIXED)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines() == [str(out2)]  # rank 0 prints, once
    assert sorted(p.name for p in out2.iterdir()) == [
        "checkpoint.pt", "config.json", "history.csv", "loss_curve.png"]
    run = load_run(out2)
    assert run.epochs_done == 2
    assert run.history["graphs_per_s"].gt(0).all()
    ckpt = load_checkpoint(out2 / "checkpoint.pt")
    assert len(ckpt["rng"]["ranks"]) == 2
    one = subprocess.run([sys.executable, "-m", "neurocl", "pretrain", str(ds.path), "--out",
                          str(out1), "--epochs", "2", *FIXED],
                         capture_output=True, text=True, timeout=120, env=_env())
    assert one.returncode == 0, one.stderr[-2000:]
    # the same global batches in the same order: the same training, split over 2 processes
    np.testing.assert_allclose(run.history["loss"], load_run(out1).history["loss"],
                               rtol=1e-4)
    emb2, emb1 = run.embed(ds), load_run(out1).embed(ds)
    assert emb2.shape == (S, 8) and np.isfinite(emb2).all()
    np.testing.assert_allclose(emb2, emb1, rtol=1e-3, atol=1e-4)


def _final_state(run):
    data = load_checkpoint(run / "checkpoint.pt")
    return data["epoch"], data["model"], data["optimizer"]["state"], data["history"]["loss"]


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_ends_with_the_uninterrupted_checkpoint(ds, tmp_path):
    epochs = 12
    args = [sys.executable, "-m", "neurocl", "pretrain", str(ds.path), "--epochs", str(epochs),
            "--augment", "edge-drop,feature-mask", "--hidden", "8", "--layers", "2",
            "--proj-dim", "6", "--batch-size", "5", "--device", "cpu", "--seed", "11"]
    cut = tmp_path / "cut"
    proc = subprocess.Popen([*args, "--out", str(cut)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=_env())
    deadline = time.monotonic() + 90
    while not (cut / "checkpoint.pt").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    done = load_checkpoint(cut / "checkpoint.pt")["epoch"]
    assert 1 <= done < epochs  # killed mid-run, after the first checkpoint
    resumed = subprocess.run([*args[:5], "--out", str(cut), "--resume"], capture_output=True,
                             text=True, timeout=120, env=_env())
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not list(cut.glob(".*"))  # no temporary file of the killed write is left
    full = tmp_path / "full"
    ref = subprocess.run([*args, "--out", str(full)], capture_output=True, text=True,
                         timeout=120, env=_env())
    assert ref.returncode == 0, ref.stderr[-2000:]
    e1, model1, opt1, loss1 = _final_state(cut)
    e2, model2, opt2, loss2 = _final_state(full)
    assert e1 == e2 == epochs and loss1 == loss2
    assert model1.keys() == model2.keys()
    for key in model1:
        assert torch.equal(model1[key], model2[key]), key
    for key in opt1:
        for name in opt1[key]:
            assert torch.equal(torch.as_tensor(opt1[key][name]),
                               torch.as_tensor(opt2[key][name])), (key, name)
    np.testing.assert_array_equal(load_run(cut).embed(ds), load_run(full).embed(ds))


@pytest.mark.slow
def test_torchrun_run_killed_then_resumed_ends_like_an_uninterrupted_one(ds, tmp_path):
    """Every rank's random state is checkpointed, so a 2-process resume is exact too."""
    args = ["-m", "neurocl", "pretrain", str(ds.path), "--epochs", "6", "--augment",
            "edge-drop,feature-mask", "--hidden", "8", "--layers", "2", "--proj-dim", "6",
            "--batch-size", "6", "--device", "cpu", "--seed", "3"]
    cut, full = tmp_path / "cut", tmp_path / "full"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc_per_node=2", *args, "--out", str(cut)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=_env(), start_new_session=True)
    deadline = time.monotonic() + 90
    while not (cut / "checkpoint.pt").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the launcher and both workers
    proc.wait()
    assert load_checkpoint(cut / "checkpoint.pt")["epoch"] < 6
    res = _torchrun(2, *args[:4], "--out", str(cut), "--resume")
    assert res.returncode == 0, res.stderr[-2000:]
    res = _torchrun(2, *args, "--out", str(full))
    assert res.returncode == 0, res.stderr[-2000:]
    e1, model1, _, loss1 = _final_state(cut)
    e2, model2, _, loss2 = _final_state(full)
    assert e1 == e2 == 6 and loss1 == loss2
    for key in model1:
        assert torch.equal(model1[key], model2[key]), key
