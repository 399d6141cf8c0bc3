"""DBN: greedy layer-wise training, class-conditional sampling, per-epoch checkpoints, exact resume."""

from pathlib import Path

import torch
from PIL import Image

from conftest import assert_same_state, epoch_lines, two_tone_folder
from ganaug_cli.cli.sample import sample_options_for
from ganaug_cli.families import FAMILIES
from ganaug_cli.models.dbn import DBN
from ganaug_cli.runs import checkpoints, load_checkpoint
from ganaug_cli.sampling import load_sampling_model

TINY_DBN = [
    "--device", "cpu",
    "--quiet",
    "--set", "data.resolution=8",
    "--set", "model.layers=[16,12]",
    "--set", "train.batch_size=4",
    "--set", "train.log_every=1",
    "--set", "train.keep_checkpoints=20",
    "--set", "sample.burn_in=20",
]


def train(cli, data: Path, *args: str) -> Path:
    code, out, err = cli("train-dbn", "--data", data, *TINY_DBN, *args)
    assert code == 0, err
    return Path(out.strip())


def test_a_dbn_trains_layer_after_layer_and_samples_each_class(cli, tmp_path):
    data = two_tone_folder(tmp_path / "data")
    run = train(cli, data, "--epochs", "2", "--seed", "0")
    lines = epoch_lines(run)
    assert [(m["epoch"], m["layer"]) for m in lines] == [(1, 1), (2, 1), (3, 2), (4, 2)]
    assert len(checkpoints(run)) == 4  # every epoch, so also as each layer finishes
    content = load_checkpoint(checkpoints(run)[-1])
    assert content["model_args"]["layers"] == [16, 12] and content["model_args"]["num_classes"] == 2
    assert (run / "previews" / "filters.png").exists()
    code, _, err = cli("sample", "--run", run, "--per-class", "3", "--seed", "0", "--out", tmp_path / "out", "--quiet")
    assert code == 0, err
    for name in ("bright", "dark"):
        images = sorted((tmp_path / "out" / name).glob("*.png"))
        assert len(images) == 3 and Image.open(images[0]).size == (8, 8)
    loaded = load_sampling_model(checkpoints(run)[-1], torch.device("cpu"))
    options = sample_options_for(loaded, {"burn_in": 7}, FAMILIES)  # what sample --burn-in 7 does
    assert loaded.sample_options["burn_in"] == 20 and options["burn_in"] == 7 and "burn_in" not in loaded.model.args
    top, asked = loaded.model.rbms[-1], {}
    chain = top.gibbs_chain
    top.gibbs_chain = lambda *args, **gibbs: asked.update(gibbs) or chain(*args, **gibbs)
    loaded.model.sample(2, torch.zeros(2, dtype=torch.long), torch.Generator().manual_seed(0), **options)
    assert asked["burn_in"] == 7  # the top RBM runs the chains


def test_only_the_top_layer_holds_the_labels_and_sampling_clamps_them():
    # Hand-built top RBM: hidden unit 0 turns the layer below on, and only label 0 can switch it on;
    # the bottom layer copies its hidden states to the image.
    dbn = DBN([1, 2, 2], [4, 2], "bernoulli", False, 2)
    bottom, top = dbn.rbms
    assert bottom.num_classes == 0 and top.num_classes == 2
    top.W[:4, 0], top.W[4, 0], top.W[5, 0] = 4.0, 8.0, -8.0
    top.b_h[0], top.b_v[:4] = -4.0, -2.0
    bottom.W[:4, :4] = 12 * torch.eye(4)
    bottom.b_v[:4] = -6.0
    gibbs = dict(burn_in=20, thinning=1, images_per_chain=1)
    on = dbn.sample(200, torch.zeros(200, dtype=torch.long), torch.Generator().manual_seed(0), **gibbs)
    off = dbn.sample(200, torch.ones(200, dtype=torch.long), torch.Generator().manual_seed(0), **gibbs)
    assert on.shape == (200, 1, 2, 2) and on.mean() > 0.8 and off.mean() < 0.2


def test_a_dbn_resumed_inside_its_second_layer_ends_like_a_straight_run(cli, tmp_path):
    data = two_tone_folder(tmp_path / "data")
    common = ["--seed", "5", "--epochs", "2", "--set", "train.up_pass=samples", "--set", "eval.val_fraction=0"]
    straight = train(cli, data, *common, "--out", tmp_path / "straight")
    steps = load_checkpoint(checkpoints(straight)[-1])["step"]  # 4 epochs of 4 batches
    part = train(cli, data, *common, "--steps", str(steps * 5 // 8), "--out", tmp_path / "resumed")
    assert load_checkpoint(checkpoints(part)[-1])["step"] == 10  # inside layer 2
    code, _, err = cli("train-dbn", "--resume", part, "--steps", str(steps), "--quiet")
    assert code == 0, err
    assert_same_state(straight, part)
