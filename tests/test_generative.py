"""Generative and cross-model objectives: masks, known-answer losses, training, CLI wiring."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from neurocl._core.errors import DatasetError, ParameterError
from neurocl.cli.main import app
from neurocl.data.dataset import write_dataset
from neurocl.models import build_encoder
from neurocl.ssl.objectives import OBJECTIVES, EncoderObjective, build_objective
from neurocl.ssl.objectives.masking import (
    masked_mse,
    n_masked,
    random_edge_mask,
    random_mask,
    scaled_cosine_error,
)
from neurocl.train import load_run, pretrain

#: objectives that run the encoder themselves, each tested here
TESTED_OBJECTIVES = ["cross-model", "masked-dfc", "masked-graph", "masked-signal"]
S, T, N, WIN, STRIDE = 12, 48, 6, 12, 6  # samples, time points, nodes, window, stride
FAST = {"hidden": 8, "layers": 1, "batch_size": 4, "proj_dim": 6, "device": "cpu",
        "warmup_epochs": 1, "epochs": 2}
ENCODER_OF = {"cross-model": "cnn-transformer", "masked-dfc": "st-gnn", "masked-graph": "gin",
              "masked-signal": "cnn-transformer"}


def _windows(ts: np.ndarray) -> np.ndarray:
    starts = range(0, ts.shape[1] - WIN + 1, STRIDE)
    return np.stack([[np.corrcoef(x[s : s + WIN].T) for s in starts] for x in ts])


def make_dataset(path, *, timeseries=True, dynamic=True, seed=0, groups=None, n=S):
    """Signals with a planted shared source per group; static and sliding-window FC."""
    rng = np.random.default_rng(seed)
    groups = np.array(["a", "b"] * (n // 2)) if groups is None else groups
    ts = rng.standard_normal((n, T, N)).astype(np.float32)
    ts[groups == "a", :, 1] += ts[groups == "a", :, 0]
    ts[groups == "b", :, 3] += ts[groups == "b", :, 2]
    fc = np.stack([np.corrcoef(x.T) for x in ts])
    ids = [f"sub-{i:02d}" for i in range(n)]
    subjects = pd.DataFrame({"sample_id": ids, "subject_id": ids, "group": groups})
    nodes = pd.DataFrame({"name": [f"roi{i}" for i in range(N)],
                          "network": ["Visual"] * 3 + ["Default"] * (N - 3)})
    return write_dataset(path, fc=fc, subjects=subjects, nodes=nodes,
                         meta={"modality": "fmri", "kind": "correlation", "atlas": "toy",
                               "fisher_z": False},
                         timeseries=ts if timeseries else None,
                         dynamic_fc=_windows(ts).astype(np.float32) if dynamic else None)


@pytest.fixture(autouse=True)
def _one_thread():
    """Small models run faster on one thread, and do not fight over a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("gen") / "toy.ds")


def _input(objective: str, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if objective == "masked-dfc":
        x = torch.rand(5, 7, N, N, generator=g)
        return (x + x.mT) / 2
    if objective == "masked-graph":
        x = torch.rand(5, N, N, generator=g)
        return (x + x.mT) / 2
    return torch.randn(5, 40, N, generator=g)


def _encoder(objective: str):
    torch.manual_seed(0)
    extra = {"patch": 4} if ENCODER_OF[objective] == "cnn-transformer" else {}
    return build_encoder(ENCODER_OF[objective], N, hidden=8, layers=1, **extra)


# ---------------------------------------------------------------------------- registry


def test_every_encoder_objective_is_tested():
    registered = {n for n in OBJECTIVES.names() if issubclass(OBJECTIVES.get(n), EncoderObjective)}
    assert set(TESTED_OBJECTIVES) == registered


@pytest.mark.parametrize("name", TESTED_OBJECTIVES)
def test_loss_is_finite_and_trains_the_encoder(name):
    enc = _encoder(name)
    obj = build_objective(name)
    modules = obj.build_modules(enc, 6)
    x = _input(name)
    before = x.clone()
    loss = obj.loss(enc, modules, x, augment=lambda s: s.flip(1),
                    generator=torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and torch.isfinite(loss) and float(loss.detach()) > 0
    loss.backward()
    assert torch.equal(x, before)
    unused = {"mask_token"} if name == "cross-model" else set()
    missing = [n for n, p in enc.named_parameters() if p.grad is None and n not in unused]
    assert not missing
    assert all(p.grad is not None for p in modules.parameters())


@pytest.mark.parametrize("name", TESTED_OBJECTIVES)
def test_objective_refuses_the_wrong_encoder(name):
    other = {"masked-graph": "st-gnn", "masked-dfc": "gin", "masked-signal": "gin",
             "cross-model": "gin"}[name]
    enc = build_encoder(other, N, hidden=8, layers=1)
    with pytest.raises(ParameterError, match="use --encoder|use a graph encoder"):
        build_objective(name).build_modules(enc, 6)


@pytest.mark.parametrize("name", ["masked-dfc", "masked-graph", "masked-signal"])
@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.2, 1.5])
def test_mask_ratio_outside_0_1_is_refused(name, ratio):
    with pytest.raises(ParameterError, match=r"mask_ratio must be in \(0, 1\)"):
        build_objective(name, mask_ratio=ratio)


# ---------------------------------------------------------------------------- masks, errors


@pytest.mark.parametrize(("n", "ratio"), [(10, 0.5), (28, 0.25), (7, 0.75), (3, 0.01)])
def test_random_mask_hits_the_ratio_in_every_row(n, ratio):
    m = random_mask(9, n, ratio, generator=torch.Generator().manual_seed(0))
    assert m.shape == (9, n)
    assert m.sum(1).tolist() == [n_masked(n, ratio)] * 9
    assert n_masked(n, ratio) == min(max(round(ratio * n), 1), n - 1)
    assert len({tuple(r) for r in m.tolist()}) > 1  # rows differ


def test_random_edge_mask_is_symmetric_and_exact():
    m = random_edge_mask(4, 9, 0.3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(m, m.mT) and not m.diagonal(dim1=1, dim2=2).any()
    assert (m.triu(1).sum((1, 2)) == n_masked(36, 0.3)).all()


def test_masked_dfc_draws_the_requested_ratio():
    obj = build_objective("masked-dfc", mask="both", mask_ratio=0.25)
    windows, nodes = obj.draw_masks(5, 8, 12, torch.Generator().manual_seed(0), "cpu")
    assert (~windows).sum(1).tolist() == [2] * 5
    assert ((~nodes).sum(2) == 3).all()


def test_scaled_cosine_error_known_answers():
    t = torch.randn(6, 5)
    assert float(scaled_cosine_error(t, t)) == pytest.approx(0.0, abs=1e-6)
    assert float(scaled_cosine_error(3 * t, t)) == pytest.approx(0.0, abs=1e-6)
    assert float(scaled_cosine_error(-t, t, alpha=2)) == pytest.approx(4.0)
    u = torch.tensor([[1.0, 0.0]])
    v = torch.tensor([[1.0, 1.0]])
    assert float(scaled_cosine_error(u, v, alpha=3)) == pytest.approx((1 - 2**-0.5) ** 3)
    mask = torch.tensor([[True, False]])
    assert float(masked_mse(torch.tensor([[1.0, 9.0]]), torch.tensor([[3.0, 0.0]]), mask)) == 4.0


class _Oracle(torch.nn.Module):
    """A decoder that returns the truth on masked entries and garbage on visible ones."""

    def __init__(self, name, truth, noise):
        super().__init__()
        self.name, self.truth, self.noise = name, truth, noise
        self.feature_token = torch.nn.Parameter(torch.zeros(N))  # masked-graph's mask token

    def forward(self, *args):
        if self.name == "masked-dfc":
            visible = args[-1]
            kept = visible.unsqueeze(-1) & visible.unsqueeze(-2)
            return self.truth + 7.0 * kept + self.noise
        if self.name == "masked-graph":
            masked = args[-1]
            return (self.truth + 7.0 * ~masked.unsqueeze(-1)) * (1 + self.noise)
        return self.truth + self.noise


@pytest.mark.parametrize("name", ["masked-dfc", "masked-graph", "masked-signal"])
def test_masked_loss_is_zero_for_a_perfect_reconstruction(name):
    enc = _encoder(name)
    obj = build_objective(name)
    x = _input(name)
    if name == "masked-signal":
        truth = enc.patchify(enc.normalize(x))
    elif name == "masked-graph":
        truth = x.masked_fill(torch.eye(N, dtype=torch.bool), 0.0)
    else:
        truth = x
    for noise, zero in ((0.0, True), (0.3 * torch.randn(truth.shape), False)):
        loss = obj.loss(enc, _Oracle(name, truth, noise), x,
                        generator=torch.Generator().manual_seed(0))
        assert (float(loss) == pytest.approx(0.0, abs=1e-6)) is zero
        assert float(loss) >= 0


def test_cross_model_weights():
    with pytest.raises(ParameterError, match="both 0"):
        build_objective("cross-model", view_weight=0, model_weight=0)
    enc = _encoder("cross-model")
    obj = build_objective("cross-model", view_weight=0.0)
    with pytest.raises(ParameterError, match="augmented views"):
        obj.loss(enc, obj.build_modules(enc, 6), _input("cross-model"))


def test_masked_dfc_reconstructs_better_than_the_mean():
    """Low-rank dynamic FC: masked windows are recovered from the visible ones."""
    rng = np.random.default_rng(0)
    n_sub, n_win, n = 32, 6, 8
    loadings = rng.standard_normal((n_sub, n, 2))  # each subject's own rank-2 structure
    strength = 0.6 + 0.4 * rng.random((n_sub, n_win, 2))  # modulated over windows
    dfc = np.einsum("sik,swk,sjk->swij", loadings, strength, loadings) / 3
    dfc = torch.tensor(np.tanh(dfc), dtype=torch.float32)
    torch.manual_seed(0)
    enc = build_encoder("st-gnn", n, hidden=16, layers=1, temporal_layers=1, heads=2,
                        sparsify="none")
    obj = build_objective("masked-dfc", mask_ratio=0.34)
    dec = obj.build_modules(enc, 8)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=5e-3)
    gen = torch.Generator().manual_seed(0)
    train, test = dfc[:24], dfc[24:]  # scored on held-out subjects
    for _ in range(250):
        loss = obj.loss(enc, dec, train, generator=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    enc.eval()
    with torch.no_grad():
        g = torch.Generator().manual_seed(5)
        model_err = float(np.mean([float(obj.loss(enc, dec, test, generator=g))
                                   for _ in range(5)]))
        mean_fc = train.mean((0, 1), keepdim=True)
        mean_err = float(((test - mean_fc) ** 2)[..., ~torch.eye(n, dtype=torch.bool)].mean())
    # measured: 0.047 (model) vs 0.111 (training mean), seeds 0 and 1 alike
    assert model_err < 0.6 * mean_err


# ---------------------------------------------------------------------------- API runs


@pytest.mark.parametrize(
    ("encoder", "objective", "options"),
    [
        ("st-gnn", "masked-dfc", {"mask_ratio": 0.5}),
        ("gin", "masked-graph", {}),
        ("gin", "masked-graph", {"mask": "both"}),
        ("cnn-transformer", "masked-signal", {"input": "timeseries"}),
        ("cnn-transformer", "cross-model", {"augment": "time-mask,freq-mask,channel-drop"}),
    ],
)
def test_pretrain_and_embed(ds, tmp_path, encoder, objective, options):
    run = pretrain(ds, tmp_path / "run", encoder=encoder, objective=objective,
                   **{**FAST, **options})
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["input"] == {"st-gnn": "dynamic", "gin": "fc"}.get(encoder, "timeseries")
    assert run.epochs_done == 2 and np.isfinite(run.history["loss"]).all()
    emb = load_run(tmp_path / "run").embed(ds)
    assert emb.shape == (S, 8) and np.isfinite(emb).all()
    again = load_run(tmp_path / "run").embed(ds)
    np.testing.assert_array_equal(emb, again)
    untrained = load_run(tmp_path / "run").embed(ds, untrained=True)
    assert not np.allclose(emb, untrained)
    # the stored config (resolved input, no views for masked objectives) replays as is
    resumed = pretrain(ds, tmp_path / "run", resume=True)
    assert resumed.epochs_done == 2 and resumed.options.input == config["input"]


def test_cross_model_takes_default_signal_views(ds, tmp_path):
    pretrain(ds, tmp_path / "run", encoder="cnn-transformer", objective="cross-model",
             **{**FAST, "epochs": 1})
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert [v["name"] for v in config["augment"]] == ["time-mask", "freq-mask", "channel-drop"]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"encoder": "st-gnn", "objective": "masked-dfc", "dataset": "nodyn"}, DatasetError,
         "--window"),
        ({"encoder": "cnn-transformer", "objective": "masked-signal", "dataset": "nots"},
         DatasetError, "has no time series"),
        ({"encoder": "st-gnn", "objective": "masked-dfc", "mask_ratio": 1.2}, ParameterError,
         r"\(0, 1\)"),
        ({"encoder": "gin", "objective": "masked-dfc"}, ParameterError, "--encoder st-gnn"),
        ({"encoder": "st-gnn", "objective": "ntxent"}, ParameterError, "masked-dfc"),
        ({"encoder": "gin", "objective": "masked-graph", "augment": "edge-drop"},
         ParameterError, "drop it"),
        ({"encoder": "gin", "objective": "ntxent", "mask_ratio": 0.5}, ParameterError,
         "no parameter mask_ratio"),
        ({"encoder": "gin", "input": "timeseries"}, ParameterError, "cnn-transformer"),
        ({"encoder": "cnn-transformer", "objective": "cross-model", "augment": "edge-drop"},
         ParameterError, "use signal views"),
        ({"encoder": "gin", "augment": "time-mask"}, ParameterError, "add fc-crop after"),
        ({"encoder": "cnn-transformer", "objective": "masked-signal", "sparsify": "knn:2"},
         ParameterError, "drop --sparsify"),
        ({"encoder": "st-gnn", "objective": "masked-dfc", "mask": "edges"}, ParameterError,
         "windows, nodes, both"),
    ],
)
def test_incompatible_combinations_write_nothing(ds, tmp_path, options, error, message):
    options = dict(options)
    data = ds
    kind = options.pop("dataset", None)
    if kind:
        data = make_dataset(tmp_path / f"{kind}.ds", timeseries=kind != "nots",
                            dynamic=kind != "nodyn")
    with pytest.raises(error, match=message):
        pretrain(data, tmp_path / "run", **{**FAST, **options})
    assert not (tmp_path / "run").exists()


def test_time_views_compose_with_fc_crop(ds, tmp_path):
    run = pretrain(ds, tmp_path / "run", augment="time-mask,fc-crop:length=0.8",
                   **{**FAST, "epochs": 1})
    assert run.epochs_done == 1


def test_masked_dfc_separates_planted_groups(tmp_path):
    """Two groups with different coupled node pairs: pretrained embeddings find them."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    groups = np.array(["a", "b"] * 15)
    data = make_dataset(tmp_path / "groups.ds", n=30, groups=groups, seed=3)
    run = pretrain(data, tmp_path / "run", encoder="st-gnn", objective="masked-dfc",
                   **{**FAST, "epochs": 15, "hidden": 16, "batch_size": 10, "lr": 3e-3})
    emb = run.embed(data)
    acc = cross_val_score(LogisticRegression(max_iter=2000), emb, groups == "a", cv=5).mean()
    assert acc > 0.75  # chance is 0.5


# ---------------------------------------------------------------------------- CLI wiring


def test_cli_runs_the_four_commands(ds, tmp_path):
    runner = CliRunner()
    small = ["--epochs", "1", "--hidden", "8", "--layers", "1", "--batch-size", "4",
             "--device", "cpu"]
    commands = {
        "stmae": ["--encoder", "st-gnn", "--objective", "masked-dfc", "--mask-ratio", "0.5"],
        "graphmae": ["--encoder", "gin", "--objective", "masked-graph"],
        "ts": ["--encoder", "cnn-transformer", "--input", "timeseries", "--objective",
               "masked-signal"],
        "mvc": ["--encoder", "cnn-transformer", "--objective", "cross-model", "--augment",
                "time-mask,freq-mask,channel-drop"],
    }
    for name, args in commands.items():
        out = tmp_path / "runs" / name
        result = runner.invoke(app, ["pretrain", str(ds.path), *args, *small, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert (out / "checkpoint.pt").is_file()
        emb = tmp_path / f"{name}.csv"
        result = runner.invoke(app, ["embed", str(out), str(ds.path), "--out", str(emb)])
        assert result.exit_code == 0, result.output
        table = pd.read_csv(emb)
        assert len(table) == S and "emb_7" in table and "group" in table


def test_cli_bad_combinations_exit_2(ds, tmp_path):
    runner = CliRunner()
    static = make_dataset(tmp_path / "static.ds", dynamic=False)
    result = runner.invoke(app, ["pretrain", str(static.path), "--encoder", "st-gnn",
                                 "--objective", "masked-dfc", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "--window" in result.output
    result = runner.invoke(app, ["pretrain", str(ds.path), "--encoder", "st-gnn", "--objective",
                                 "masked-dfc", "--mask-ratio", "1", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "(0, 1)" in result.output
    assert not (tmp_path / "r").exists()
