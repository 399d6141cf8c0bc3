"""RBM: CD and PCD learn, AIS matches exact log Z, Gaussian units on colour data, labels, resume."""

import itertools
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from conftest import assert_same_state, epoch_lines, save_rgb, two_tone_folder
from ganaug_cli.config import RbmConfig
from ganaug_cli.models.rbm_partition import ais_log_partition, exact_log_partition
from ganaug_cli.models import rbm_likelihood as likelihood
from ganaug_cli.models.rbm_likelihood import pseudo_log_likelihood
from ganaug_cli.models.rbm import RBM
from ganaug_cli.runs import checkpoints, load_checkpoint
from ganaug_cli.training.boltzmann import rate_at
from ganaug_cli.training.rbm_learner import RbmLearner

TINY_RBM = [
    "--device", "cpu",
    "--set", "data.resolution=8",
    "--set", "model.hidden=16",
    "--set", "train.batch_size=4",
    "--set", "train.log_every=1",
    "--set", "sample.burn_in=30",
    "--set", "eval.ais_betas=100",
    "--set", "eval.ais_chains=20",
]


def train(cli, data: Path, *args: str) -> Path:
    code, out, err = cli("train-rbm", "--data", data, "--quiet", *TINY_RBM, *args)
    assert code == 0, err
    return Path(out.strip())


def small_rbm(classes: int = 0, seed: int = 0) -> RBM:
    torch.manual_seed(seed)
    rbm = RBM([20], 12, "bernoulli", False, classes)
    rbm.W.normal_(0, 0.5)
    rbm.b_v.normal_(0, 0.5)
    rbm.b_h.normal_(0, 0.5)
    return rbm


@pytest.mark.parametrize("criterion", ["cd", "pcd"])
def test_cd_and_pcd_reduce_the_reconstruction_error_on_a_tiny_folder(cli, tmp_path, criterion):
    data = two_tone_folder(tmp_path / "data", per_class=16)
    run = train(cli, data, "--epochs", "20", "--seed", "0", "--set", f"train.criterion={criterion}",
                "--set", "model.labels=false", "--set", "eval.val_fraction=0", "--set", "train.lr=0.1",
                "--set", "train.lr_decay=none")
    errors = [m["train_recon_error"] for m in epoch_lines(run)]
    assert len(errors) == 20
    assert errors[-1] < 0.75 * errors[0]


@pytest.mark.parametrize("classes", [0, 3])
def test_ais_estimates_the_exact_log_partition_of_a_small_model(classes):
    rbm = small_rbm(classes)
    exact = exact_log_partition(rbm)
    estimate = ais_log_partition(rbm, betas=5000, chains=100, generator=torch.Generator().manual_seed(0))
    assert abs(estimate.log_z - exact) < 0.1
    assert 0 < estimate.std < 0.1


def test_label_units_are_summed_out_exactly_and_exact_log_z_matches_enumerating_images():
    rbm = small_rbm(classes=3)
    images = torch.tensor(list(itertools.product([0.0, 1.0], repeat=20)))
    per_class = torch.stack(
        [-rbm.free_energy(torch.cat([images, F.one_hot(torch.full((len(images),), y), 3).float()], 1)) for y in range(3)], 1
    )
    assert torch.allclose(-rbm.free_energy_images(images), per_class.logsumexp(1), atol=1e-4)
    assert exact_log_partition(rbm) == pytest.approx(per_class.double().flatten().logsumexp(0).item(), abs=1e-3)


@pytest.mark.parametrize("rows_per_chunk", [2, None])  # 2: chunks of 2, 2 and 1 rows through one workspace
def test_the_pseudo_likelihood_is_the_sum_of_one_bit_conditionals(monkeypatch, rows_per_chunk):
    rbm = small_rbm()
    if rows_per_chunk:
        monkeypatch.setattr(likelihood, "PLL_CHUNK_ELEMENTS", rows_per_chunk * 20 * 12)
    v = torch.bernoulli(torch.full((5, 20), 0.5), generator=torch.Generator().manual_seed(1))
    expected = torch.zeros(5)
    for i in range(20):
        flipped = v.clone()
        flipped[:, i] = 1 - flipped[:, i]
        expected += torch.sigmoid(rbm.free_energy(flipped) - rbm.free_energy(v)).log()
    assert torch.allclose(pseudo_log_likelihood(rbm, v), expected, atol=1e-4)


def test_each_epoch_logs_likelihood_metrics_and_the_run_shows_samples_and_filters(cli, tmp_path):
    data = two_tone_folder(tmp_path / "data", per_class=10)
    run = train(cli, data, "--epochs", "3", "--set", "eval.ais_every=2", "--set", "eval.val_fraction=0.2")
    lines = epoch_lines(run)
    assert [m["epoch"] for m in lines] == [1, 2, 3]
    assert all(math.isfinite(m["val_recon_error"]) and m["val_pll"] < 0 for m in lines)
    with_ais = [m["epoch"] for m in lines if "ais_log_z" in m]
    assert with_ais == [2, 3]  # every 2 epochs and at the end
    assert all(m["val_log_p"] < 0 and m["val_log_p_std"] >= m["ais_log_z_std"] >= 0 for m in lines if "ais_log_z" in m)
    assert len(checkpoints(run)) == 3  # one per epoch
    assert Image.open(run / "previews" / "filters.png").size == (8 * 10 + 2, 2 * 10 + 2)  # 16 filters, 8 a row
    assert Image.open(run / "previews" / "latest.png").size == (10 * 10 + 2, 2 * 10 + 2)  # a row per class


def test_by_default_a_run_gets_two_likelihood_estimates_whatever_its_length(cli, tmp_path):
    data = two_tone_folder(tmp_path / "data", per_class=10)
    run = train(cli, data, "--epochs", "5", "--set", "eval.val_fraction=0.2")
    assert [m["epoch"] for m in epoch_lines(run) if "ais_log_z" in m] == [3, 5]  # halfway (rounded up) and last
    code, _, err = cli("train-rbm", "--data", data, "--set", "eval.ais_every=0", "--out", tmp_path / "bad")
    assert code == 1 and err.strip() == "error: --set eval.ais_every: must be auto or greater than 0"


def test_a_run_cut_short_by_its_step_budget_still_ends_with_a_likelihood_estimate(cli, tmp_path):
    data = two_tone_folder(tmp_path / "data", per_class=10)
    # 16 training images in batches of 4: 4 steps an epoch, so step 6 is halfway through epoch 2.
    run = train(cli, data, "--steps", "6", "--set", "eval.val_fraction=0.2")
    lines = epoch_lines(run)
    assert [m["step"] for m in lines] == [4, 6]
    assert "ais_log_z" not in lines[0] and lines[1]["val_log_p"] < 0 and lines[1]["epoch"] == 1.5
    code, _, err = cli("train-rbm", "--resume", run, "--steps", "6", "--quiet")  # nothing left to do
    assert code == 0, err
    assert len(epoch_lines(run)) == 2  # no second estimate of the same model


def test_sampling_a_class_clamps_its_label_units():
    # Hand-built: hidden unit 0 turns the image on, and only label 0 can switch it on.
    rbm = RBM([1, 2, 2], 2, "bernoulli", False, 2)
    rbm.W[:4, 0], rbm.W[4, 0], rbm.W[5, 0] = 4.0, 8.0, -8.0
    rbm.b_h[0], rbm.b_v[:4] = -4.0, -2.0
    gibbs = dict(burn_in=20, thinning=1, images_per_chain=1)
    on = rbm.sample(200, torch.zeros(200, dtype=torch.long), torch.Generator().manual_seed(0), **gibbs)
    off = rbm.sample(200, torch.ones(200, dtype=torch.long), torch.Generator().manual_seed(0), **gibbs)
    assert on.shape == (200, 1, 2, 2) and on.mean() > 0.8 and off.mean() < 0.2


def test_the_packed_update_is_the_cd_gradient_with_momentum_and_weight_decay_on_the_weights_only():
    torch.manual_seed(0)
    rbm = RBM([6], 4, "bernoulli", False, 2)
    for p in (rbm.W, rbm.b_v, rbm.b_h):
        p.normal_(0, 0.5)
    train = RbmConfig.model_validate(
        {"train": {"criterion": "cd", "lr": 0.1, "momentum_start": 0.5, "momentum_end": 0.5, "weight_decay": 0.01}}
    ).train
    learner = RbmLearner(rbm, train)
    assert rbm.W.data_ptr() == learner.packed.data_ptr()  # the model's parameters are views of the packed matrix
    v0 = torch.cat([(torch.rand(5, 6) > 0.5).float(), F.one_hot(torch.tensor([0, 1, 1, 0, 1]), 2).float()], 1)
    velocity = {k: torch.zeros_like(p) for k, p in learner.parameters.items()}
    for _ in range(2):
        before = {k: p.clone() for k, p in learner.parameters.items()}
        learner.update(v0, rate=0.1, momentum=0.5, measure=False)
        b = learner.buffers
        vk, ph0, phk = b.model[:, :8], b.ph0, -b.phk
        assert set(vk[:, 6:].sum(1).tolist()) == {1.0}  # one label unit on per row
        lr = 0.1 / 5
        velocity["W"] = 0.5 * velocity["W"] + lr * (v0.t() @ ph0 - vk.t() @ phk) - 0.1 * 0.01 * before["W"]
        velocity["b_v"] = 0.5 * velocity["b_v"] + lr * (v0.sum(0) - vk.sum(0))
        velocity["b_h"] = 0.5 * velocity["b_h"] + lr * (ph0.sum(0) - phk.sum(0))
        for name, p in learner.parameters.items():
            assert torch.allclose(p, before[name] + velocity[name], atol=1e-6), name


ONE_STEP = dict(burn_in=1, thinning=1, images_per_chain=1)  # a sample shows where its chain started


def copying_rbm(classes: int) -> RBM:
    """Two hidden units that copy two image units up and back, so a sample shows its chain's start."""
    rbm = RBM([2], 2, "bernoulli", False, classes)
    rbm.W[:2, :2] = 20 * torch.eye(2)
    rbm.b_h[:], rbm.b_v[:2] = -10.0, -10.0
    return rbm


def test_sampling_chains_start_at_the_mean_image_of_the_clamped_class():
    rbm = copying_rbm(classes=3)
    units = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    rbm.fit_start(units, torch.tensor([0, 0, 1]))
    # Class 2 has no training rows: it starts from the mean of all rows.
    assert torch.allclose(rbm.start_mean, torch.tensor([[1.0, 0.0], [0.0, 1.0], [2 / 3, 1 / 3]]))
    labels = torch.tensor([0] * 100 + [1] * 100)
    images = rbm.sample(200, labels, torch.Generator().manual_seed(0), **ONE_STEP).flatten(1)
    assert images[:100, 0].mean() > 0.99 and images[:100, 1].mean() < 0.01
    assert images[100:, 0].mean() < 0.01 and images[100:, 1].mean() > 0.99


def test_a_checkpoint_from_before_chain_starts_existed_samples_from_uniform_noise():
    saved = copying_rbm(classes=0).state_dict()
    del saved["start_mean"]
    rbm = copying_rbm(classes=0)
    rbm.start_mean.fill_(1.0)
    rbm.load_state_dict(saved)
    assert torch.equal(rbm.start_mean, torch.full((1, 2), 0.5))
    images = rbm.sample(400, None, torch.Generator().manual_seed(0), **ONE_STEP)
    assert 0.4 < images.mean() < 0.6


def test_the_learning_rate_falls_linearly_to_zero_over_the_planned_updates():
    decaying = RbmConfig.model_validate({}).train
    assert [rate_at(decaying, u, 4) for u in range(4)] == pytest.approx([0.05, 0.0375, 0.025, 0.0125])
    assert rate_at(decaying, 3, math.inf) == 0.05  # no planned end: no decay
    constant = RbmConfig.model_validate({"train": {"lr_decay": "none"}}).train
    assert rate_at(constant, 3, 4) == 0.05


@pytest.mark.parametrize("learn_variance", [False, True])
def test_a_gaussian_visible_rbm_learns_the_colours_of_rgb_classes(cli, tmp_path, learn_variance):
    data = tmp_path / "data"
    for i in range(8):
        save_rgb(data / "red" / f"{i}.png", colour=(200 + 5 * i, 20 + 5 * i, 30), size=8)
        save_rgb(data / "blue" / f"{i}.png", colour=(30, 20 + 5 * i, 200 + 5 * i), size=8)
    run = train(cli, data, "--epochs", "15", "--seed", "0", "--set", "model.visible=gaussian",
                "--set", f"model.learn_variance={str(learn_variance).lower()}", "--set", "eval.ais_every=5")
    lines = epoch_lines(run)
    assert "val_pll" not in lines[-1] and math.isfinite(lines[-1]["val_log_p"])
    assert load_checkpoint(checkpoints(run)[-1])["model_args"]["units"] == "gaussian"
    errors = [m["val_recon_error"] for m in lines]
    assert errors[-1] < errors[0]
    out = tmp_path / "samples"
    code, _, err = cli("sample", "--run", run, "--class", "red", "-n", "4", "--seed", "1", "--out", out, "--quiet")
    assert code == 0, err
    assert [p.name for p in out.iterdir() if p.is_dir()] == ["red"]
    images = list((out / "red").glob("*.png"))
    assert len(images) == 4 and Image.open(images[0]).mode == "RGB" and Image.open(images[0]).size == (8, 8)


def test_sample_burn_in_overrides_the_runs_setting_for_boltzmann_runs_only(cli, tmp_path, trained_runs):
    data = two_tone_folder(tmp_path / "data")
    run = train(cli, data, "--epochs", "2", "--seed", "0")  # the run samples with sample.burn_in=30

    def pixels(name: str, *extra: str) -> list[bytes]:
        out = tmp_path / name
        code, _, err = cli("sample", "--run", run, "-n", "4", "--seed", "3", "--out", out, "--quiet", *extra)
        assert code == 0, err
        return [Image.open(path).tobytes() for path in sorted(out.rglob("*.png"))]

    assert pixels("run-setting") == pixels("same", "--burn-in", "30")
    assert pixels("run-setting") != pixels("shorter", "--burn-in", "1")
    code, out, err = cli("sample", "--run", run, "-n", "2", "--burn-in", "-1", "--out", tmp_path / "bad")
    assert code == 1 and out == "" and err.strip() == "error: --burn-in: must be 0 or more (got -1)"
    code, _, err = cli("sample", "--run", trained_runs["conditional"], "-n", "2", "--burn-in", "5", "--out", tmp_path / "gan")
    last = err.strip().splitlines()[-1]
    assert code == 1 and last.startswith("error: --burn-in: applies to RBM and DBN runs") and last.endswith("is a gan run")


def test_a_resumed_run_ends_exactly_where_a_straight_run_ends(cli, tmp_path):
    data = two_tone_folder(tmp_path / "data")
    common = ["--seed", "3", "--set", "model.binarize=stochastic", "--set", "train.momentum_switch_epoch=1"]
    straight = train(cli, data, "--epochs", "2", "--out", tmp_path / "straight", *common)
    # Cut after the first of 4 steps per epoch: the rate's decay follows the 2 planned epochs in both.
    first = train(cli, data, "--epochs", "2", "--steps", "4", "--out", tmp_path / "resumed", *common)
    code, _, err = cli("train-rbm", "--resume", first, "--steps", "8", "--quiet")
    assert code == 0, err
    assert_same_state(straight, first)
    drop = ("time", "images_per_s")  # the first part also ran AIS at its own last epoch
    last = [{k: v for k, v in epoch_lines(run)[-1].items() if k not in drop} for run in (straight, first)]
    assert last[0] == last[1] and "ais_log_z" in last[0]
