"""GAN training: it trains on every kind of folder, checkpoints, resumes exactly, stops cleanly."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import TINY_GAN, save_gray, save_rgb, train_tiny_gan
from ganaug_cli.runs import checkpoints, load_checkpoint, read_run_config
from ganaug_cli.training.gan import GanTrainer


def test_a_conditional_gray_run_trains_and_writes_its_run_folder(cli, two_class_folder, isolated):
    code, out, err = cli("train-gan", "--data", two_class_folder, "--steps", "3", "--seed", "1",
                         "--set", "train.log_every=1", *TINY_GAN)
    assert code == 0, err
    run = Path(out.strip())
    assert run == Path("runs/gan-0001")
    assert {p.name for p in run.iterdir()} >= {"config.yaml", "metrics.jsonl", "checkpoints", "previews", "run.json"}
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 3
    assert read_run_config(run)["train"]["seed"] == 1
    ckpt = load_checkpoint(checkpoints(run)[-1])
    assert ckpt["step"] == 3 and ckpt["class_names"] == ["cat", "dog"]
    assert ckpt["model_args"]["num_classes"] == 2
    for key in ("G", "D", "G_ema", "opt_g", "opt_d", "updates"):
        assert key in ckpt["trainer"]
    assert {"torch"} <= set(ckpt["rng"]) and ckpt["ganaug_version"] and ckpt["format_version"] == 1
    grid = Image.open(run / "previews" / "step-00000003.png")
    assert grid.mode == "L"


def save_rgba(path: Path, colour) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGBA", (20, 20), colour).save(path)


@pytest.mark.parametrize("kind", ["rgb", "rgba", "unconditional"])
def test_rgb_rgba_and_unconditional_runs_train(cli, tmp_path, kind):
    data = tmp_path / "d"
    for i in range(4):
        if kind == "rgba":
            save_rgba(data / "a" / f"{i}.png", (200, 30 * i, 0, 100))
            save_rgba(data / "b" / f"{i}.png", (0, 30 * i, 200, 255))
        elif kind == "rgb":
            save_rgb(data / "a" / f"{i}.png", colour=(200, 20 * i, 0))
            save_rgb(data / "b" / f"{i}.png", colour=(0, 20 * i, 200))
        else:
            save_gray(data / f"{i}.png", value=40 * i)
    extra = ["--set", "data.channels=rgba"] if kind == "rgba" else []
    code, out, err = cli("train-gan", "--data", data, "--steps", "2", *TINY_GAN, *extra)
    assert code == 0, err
    ckpt = load_checkpoint(checkpoints(Path(out.strip()))[-1])
    assert ckpt["model_args"]["channels"] == {"rgb": 3, "rgba": 4, "unconditional": 1}[kind]
    assert ckpt["model_args"]["num_classes"] == (0 if kind == "unconditional" else 2)


def test_conditional_false_trains_one_unconditional_model(cli, two_class_folder):
    code, out, _ = cli("train-gan", "--data", two_class_folder, "--steps", "1", *TINY_GAN, "--set", "model.conditional=false")
    assert code == 0
    assert load_checkpoint(checkpoints(Path(out.strip()))[-1])["model_args"]["num_classes"] == 0


def all_tensors(state, prefix=""):
    if isinstance(state, torch.Tensor):
        yield prefix, state
    elif isinstance(state, dict):
        for key, value in state.items():
            yield from all_tensors(value, f"{prefix}.{key}")
    elif isinstance(state, (list, tuple)):
        for i, value in enumerate(state):
            yield from all_tensors(value, f"{prefix}[{i}]")


@pytest.mark.parametrize("extra", [[], ["--set", "augment.adaptive=true", "--set", "train.r1_gamma=1"],
                                   ["--set", "train.class_loss=0.5", "--set", "model.d_antialias=true"]],
                         ids=["default", "adaptive-r1", "class-loss-antialias"])
def test_resume_is_exact_twenty_steps_equal_ten_plus_ten(two_class_folder, tmp_path, extra):
    straight = train_tiny_gan(two_class_folder, tmp_path / "straight", *extra, steps=20, seed=3)
    split = train_tiny_gan(two_class_folder, tmp_path / "split", *extra, steps=10, seed=3)
    from ganaug_cli.cli.app import run

    assert run(["train-gan", "--resume", str(split), "--steps", "20", "--quiet", "--device", "cpu"]) == 0
    a = load_checkpoint(checkpoints(straight)[-1])
    b = load_checkpoint(checkpoints(split)[-1])
    assert a["step"] == b["step"] == 20
    tensors_a, tensors_b = dict(all_tensors(a["trainer"])), dict(all_tensors(b["trainer"]))
    assert tensors_a.keys() == tensors_b.keys() and len(tensors_a) > 10
    for key in tensors_a:
        assert torch.equal(tensors_a[key], tensors_b[key]), key


def test_resume_refuses_changes_other_than_the_budget_and_device(cli, two_class_folder, tmp_path):
    run_dir = train_tiny_gan(two_class_folder, tmp_path / "r", steps=1)
    code, _, err = cli("train-gan", "--resume", run_dir, "--set", "train.lr_g=0.1", "--seed", "4")
    assert code == 1
    assert "--seed, --set: cannot change a resumed run" in err


def test_an_existing_non_empty_out_is_refused_and_left_alone(cli, two_class_folder, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, _, err = cli("train-gan", "--data", two_class_folder, "--out", out, "--steps", "1", *TINY_GAN)
    assert code == 1 and "not empty" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(cli, two_class_folder, tmp_path, monkeypatch):
    original = GanTrainer.train_step

    def failing_step(self, images, labels):
        losses = original(self, images, labels)
        if self.updates >= 3:
            losses["loss_d"] = torch.tensor(float("nan"))
        return losses

    monkeypatch.setattr(GanTrainer, "train_step", failing_step)
    out = tmp_path / "nan"
    code, stdout, err = cli("train-gan", "--data", two_class_folder, "--out", out, "--steps", "10",
                            "--set", "train.checkpoint_every=2", *TINY_GAN)
    assert code == 1 and stdout == ""
    assert "loss_d became nan at step 3" in err and "step-00000002.pt" in err
    assert [p.name for p in checkpoints(out)] == ["step-00000002.pt"]
    load_checkpoint(checkpoints(out)[-1])


def start_training(data: Path, out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "ganaug_cli", "train-gan", "--data", str(data), "--out", str(out),
               "--steps", "100000", "--set", "train.log_every=1", *TINY_GAN]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_exits_with_its_code_and_leaves_a_loadable_checkpoint(two_class_folder, tmp_path, sig, code):
    out = tmp_path / "run"
    process = start_training(two_class_folder, out)
    deadline = time.monotonic() + 60
    while not (out / "metrics.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and stdout == ""
    ckpt = load_checkpoint(checkpoints(out)[-1])
    assert ckpt["step"] >= 1


def test_a_corrupt_checkpoint_refuses_to_resume_with_one_line(cli, two_class_folder, tmp_path):
    run_dir = train_tiny_gan(two_class_folder, tmp_path / "r", steps=1)
    path = checkpoints(run_dir)[-1]
    path.write_bytes(path.read_bytes()[:200])
    code, _, err = cli("train-gan", "--resume", run_dir, "--steps", "2")
    assert code == 1
    assert err.count("\n") == 1 and "truncated or corrupt" in err


def test_a_cpu_run_never_initialises_cuda(cli, two_class_folder, monkeypatch, tmp_path):
    import torch._dynamo  # noqa: F401  (imported lazily by the optimiser; load it before patching)

    # torch itself may ask whether CUDA exists; any real CUDA use goes through _lazy_init.
    def forbidden(*args, **kwargs):
        raise AssertionError("CUDA was used during a CPU run")

    monkeypatch.setattr(torch.cuda, "_lazy_init", forbidden)
    code, out, err = cli("train-gan", "--data", two_class_folder, "--steps", "2", *TINY_GAN)
    assert code == 0, err
    code, _, err = cli("sample", "--run", out.strip(), "-n", "2", "--device", "cpu", "--out", tmp_path / "s")
    assert code == 0, err
    assert not torch.cuda.is_initialized()


def test_a_run_resumes_from_another_directory(cli, two_class_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(two_class_folder.parent)
    code, out, _ = cli("train-gan", "--data", two_class_folder.name, "--steps", "1", *TINY_GAN)
    assert code == 0
    run_dir = (two_class_folder.parent / out.strip()).resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = cli("train-gan", "--resume", run_dir, "--steps", "2")
    assert code == 0, err
    assert load_checkpoint(checkpoints(run_dir)[-1])["step"] == 2


def test_tensorboard_gets_scalars_and_previews_when_installed(cli, two_class_folder):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    code, out, _ = cli("train-gan", "--data", two_class_folder, "--steps", "2", *TINY_GAN,
                       "--set", "train.log_every=1", "--set", "train.preview_every=1")
    assert code == 0
    events = EventAccumulator(str(Path(out.strip()) / "tensorboard"))
    events.Reload()
    assert "loss_d" in events.Tags()["scalars"] and "preview" in events.Tags()["images"]


def test_a_run_shorter_than_log_every_still_ends_with_a_metrics_line(two_class_folder, tmp_path):
    run = train_tiny_gan(two_class_folder, tmp_path / "short", steps=3)  # log_every is 50
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["step"] == 3
    assert {"loss_d", "loss_g", "images_per_s"} <= lines[0].keys()


def test_the_class_consistency_loss_is_logged_and_both_options_are_in_the_checkpoint(two_class_folder, tmp_path):
    options = ["--set", "train.class_loss=0.5", "--set", "model.d_antialias=true", "--set", "train.log_every=1"]
    run = train_tiny_gan(two_class_folder, tmp_path / "run", *options, steps=3)
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(line["loss_class_real"] > 0 and line["loss_class_fake"] > 0 for line in lines)
    trainer_state = load_checkpoint(checkpoints(run)[-1])["trainer"]
    assert any(key.startswith("classify.") for key in trainer_state["D"])
    assert any(key.endswith("blur.kernel") for key in trainer_state["D"])


def test_the_blur_keeps_a_flat_image_and_removes_a_one_pixel_grid():
    from ganaug_cli.models.gan import Blur

    flat = torch.full((1, 2, 8, 8), 0.7)
    assert torch.allclose(Blur(2)(flat), flat)
    grid = torch.ones(1, 1, 8, 8)
    grid[..., ::2, :] = -1  # alternate rows: the pattern a stride of 2 folds
    assert float(Blur(1)(grid)[..., 1:-1, :].abs().max()) < 1e-6
